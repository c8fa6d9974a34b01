"""Reads of reviews: a book's (sorted, by language), a reader's own, a book's aggregate."""

from __future__ import annotations

from django.db.models import Avg, Count

from .. import contracts, errors
from ..models import Review
from ._pages import Key, Page, page

REVIEW_KEYS = {
    "helpful": Key("helpful", ("helpful_count", "created_at", "id"), ("int", "datetime", "uuid")),
    "newest": Key("newest", ("created_at", "id"), ("datetime", "uuid")),
    "rating": Key("rating", ("rating", "created_at", "id"), ("int", "datetime", "uuid")),
}


def reviews_for_book(*, book_id, sort: str = "helpful", language: str | None = None, limit: int = 20,
                     cursor: str | None = None) -> Page:
    """A book's reviews in ``sort`` order (most helpful, newest or best rated first), in one
    ``language`` if given; the next page follows ``cursor``."""
    rows = Review.objects.filter(book_id=book_id)
    if language:
        rows = rows.filter(language=language.lower())
    return page(rows, key=REVIEW_KEYS[sort], limit=limit, cursor=cursor)


def reviews_of_user(*, user_id, limit: int = 20, cursor: str | None = None) -> Page:
    """A reader's own reviews, newest first."""
    return page(Review.objects.filter(user_id=user_id), key=REVIEW_KEYS["newest"], limit=limit, cursor=cursor)


def review_get(*, review_id) -> Review:
    """One review, or ``review_not_found``."""
    review = Review.objects.filter(id=review_id).first()
    if review is None:
        raise errors.REVIEW_NOT_FOUND(review_id=str(review_id))
    return review


def review_of_user_for_book(*, user_id, book_id) -> Review | None:
    """The reader's review of this book, if they wrote one."""
    return Review.objects.filter(user_id=user_id, book_id=book_id).first()


def book_rating(*, book_id) -> contracts.BookRating:
    """The average (two decimals; None until rated) and number of a book's ratings, from its reviews."""
    found = Review.objects.filter(book_id=book_id).aggregate(average=Avg("rating"), count=Count("id"))
    average = round(float(found["average"]), 2) if found["count"] else None
    return contracts.BookRating(book_id=str(book_id), average=average, count=found["count"])
