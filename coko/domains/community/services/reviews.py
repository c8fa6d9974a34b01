"""Reviews and ratings: a reader's one review of a book, helpful votes, the book's aggregate.

Every change publishes its typed event (``review.posted``/``updated``/``deleted``) in the same
transaction, with the book as the aggregate, so the rating handler sees one book's events in
order. The catalogue's aggregate is recomputed from these rows (``book_rating_sync``), never
moved by deltas a replayed event would count twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, connections, transaction

from coko.domains.catalog import api as catalog_api
from coko.platform import clock
from coko.platform.contracts import UNSET, Unset, given
from coko.platform.events import publish
from coko.platform.services import model_update, use_case

from .. import contracts, errors, selectors, values
from ..models import Review, ReviewVote
from ._shared import DB


@dataclass(frozen=True)
class ReviewChanges:
    """What an author changes in their review (``UNSET``: left as it is)."""

    rating: int | Unset = UNSET
    text: str | Unset = UNSET
    language: str | Unset = UNSET
    spoiler: bool | Unset = UNSET

    def checked(self) -> dict:
        """The given fields, each checked as a new review's would be."""
        data = given(self)
        if "rating" in data:
            data["rating"] = values.rating_checked(data["rating"])
        if "language" in data:
            data["language"] = values.language_checked(data["language"])
        if "text" in data:
            data["text"] = _text_checked(data["text"])
        return data


REVIEW_FIELDS = ("rating", "text", "language", "spoiler")


def _text_checked(text: str | None) -> str:
    text = (text or "").strip()
    limit = settings.COKO_COMMUNITY["REVIEW_MAX_CHARS"]
    if len(text) > limit:
        raise errors.REVIEW_TOO_LONG(limit=limit)
    return text


def book_visible_check(*, book_id) -> None:
    """Raise ``book_not_found`` unless ``book_id`` is a book readers can see in the catalogue."""
    if not catalog_api.book_summaries(book_ids=[str(book_id)]):
        raise errors.BOOK_NOT_FOUND(book_id=str(book_id))


def _announce(review: Review, *, type_: str, changed: tuple[str, ...] = ()) -> None:
    common = {"review_id": str(review.id), "book_id": str(review.book_id), "user_id": str(review.user_id)}
    if type_ == contracts.REVIEW_DELETED:
        payload = contracts.ReviewDeleted(**common)
    else:
        state = {"rating": review.rating, "language": review.language, "spoiler": review.spoiler,
                 "has_text": bool(review.text)}
        payload = (contracts.ReviewPosted(**common, **state) if type_ == contracts.REVIEW_POSTED
                   else contracts.ReviewUpdated(**common, **state, changed=changed))
    publish(producer=DB, type=type_, aggregate_id=review.book_id, payload=payload)


def _own_review(*, user_id, review_id) -> Review:
    review = Review.objects.select_for_update().filter(id=review_id).first()
    if review is None:
        raise errors.REVIEW_NOT_FOUND(review_id=str(review_id))
    if str(review.user_id) != str(user_id):
        raise errors.PERMISSION_DENIED(missing_permissions=[], required_roles=[])
    return review


@use_case(DB)
def review_post(*, user_id, book_id, rating: int, text: str = "", language: str,
                spoiler: bool = False) -> Review:
    """A reader's review of a book they can see in the catalogue; one per reader per book."""
    rating, language, text = values.rating_checked(rating), values.language_checked(language), _text_checked(text)
    book_visible_check(book_id=book_id)
    now = clock.now()
    try:
        with transaction.atomic(using=DB):
            review = Review.objects.create(book_id=book_id, user_id=user_id, rating=rating, text=text,
                                           language=language, spoiler=bool(spoiler), created_at=now, updated_at=now)
    except IntegrityError:  # the reader's review exists (perhaps posted a moment ago, concurrently)
        existing = Review.objects.filter(book_id=book_id, user_id=user_id).values_list("id", flat=True).first()
        raise errors.REVIEW_ALREADY_POSTED(book_id=str(book_id), review_id=str(existing)) from None
    _announce(review, type_=contracts.REVIEW_POSTED)
    return review


@use_case(DB)
def review_update(*, user_id, review_id, changes: ReviewChanges) -> Review:
    """Change one's own review; ``review.updated`` names what changed (nothing changed: no event)."""
    data = changes.checked()
    review = _own_review(user_id=user_id, review_id=review_id)
    _, changed = model_update(instance=review, fields=REVIEW_FIELDS, data=data, save=False)
    if changed:
        review.updated_at = clock.now()
        review.save(update_fields=[*changed, "updated_at"])
        _announce(review, type_=contracts.REVIEW_UPDATED, changed=tuple(changed))
    return review


@use_case(DB)
def review_delete(*, user_id, review_id) -> None:
    """Take one's own review (and its rating and votes) back."""
    review = _own_review(user_id=user_id, review_id=review_id)
    _announce(review, type_=contracts.REVIEW_DELETED)
    review.delete()


@use_case(DB)
def review_helpful_mark(*, user_id, review_id) -> Review:
    """The reader finds this review helpful (once; not their own). Marking again changes nothing."""
    review = Review.objects.select_for_update().filter(id=review_id).first()
    if review is None:
        raise errors.REVIEW_NOT_FOUND(review_id=str(review_id))
    if str(review.user_id) == str(user_id):
        raise errors.REVIEW_OWN_VOTE(review_id=str(review_id))
    _, created = ReviewVote.objects.get_or_create(review=review, user_id=user_id,
                                                  defaults={"created_at": clock.now()})
    if created:
        review.helpful_count += 1
        review.save(update_fields=["helpful_count"])
    return review


@use_case(DB)
def review_helpful_unmark(*, user_id, review_id) -> Review:
    """The reader takes their helpful vote back (no vote: nothing changes)."""
    review = Review.objects.select_for_update().filter(id=review_id).first()
    if review is None:
        raise errors.REVIEW_NOT_FOUND(review_id=str(review_id))
    deleted, _ = ReviewVote.objects.filter(review=review, user_id=user_id).delete()
    if deleted:
        review.helpful_count = max(0, review.helpful_count - deleted)
        review.save(update_fields=["helpful_count"])
    return review


def book_rating_sync(*, book_id: str | UUID) -> contracts.BookRating:
    """Give the catalogue ``book_id``'s rating as the community's rows say now (the review
    handler). Idempotent: the aggregate is computed from every review, not moved by the event.

    Book by book, one at a time (a transaction-scoped advisory lock on this alias): the last
    sync to take the lock reads every review committed before it, so concurrent reviews and
    redeliveries leave the catalogue right. Runs in the caller's transaction when there is
    one (the handler's), which holds the lock until it ends.
    """
    with transaction.atomic(using=DB):
        with connections[DB].cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"community:rating:{book_id}"])
        rating = selectors.book_rating(book_id=book_id)
        catalog_api.book_stats_set(book_id=str(book_id), rating_average=rating.average or 0,
                                   rating_count=rating.count)
    return rating
