"""Frozen data the community domain shares: facade results and event payloads.

No Django imports here: contracts must be importable by an extracted service.
"""

from __future__ import annotations

from dataclasses import dataclass

from coko.platform.contracts import EventPayload

# --- vocabularies ---------------------------------------------------------------------------------
RATING_MIN, RATING_MAX = 1, 5
#: How a book's reviews may be listed (every sort is descending: most helpful, newest, best rated).
REVIEW_SORTS = ("helpful", "newest", "rating")


# --- facade results -------------------------------------------------------------------------------
@dataclass(frozen=True)
class BookRating:
    """``community.api.book_rating``: a book's readers' average rating (None until rated) and count."""

    book_id: str
    average: float | None
    count: int


# --- events community publishes (payload version 1) ---------------------------------------------
REVIEW_POSTED = "review.posted"
REVIEW_UPDATED = "review.updated"
REVIEW_DELETED = "review.deleted"


@dataclass(frozen=True)
class ReviewPosted(EventPayload):
    """``review.posted``: a reader rated (and perhaps reviewed) a book."""

    VERSION = 1
    review_id: str
    book_id: str
    user_id: str
    rating: int
    language: str
    spoiler: bool
    has_text: bool


@dataclass(frozen=True)
class ReviewUpdated(EventPayload):
    """``review.updated``: a reader changed their review; ``changed`` names what changed."""

    VERSION = 1
    review_id: str
    book_id: str
    user_id: str
    rating: int
    language: str
    spoiler: bool
    has_text: bool
    changed: tuple[str, ...]


@dataclass(frozen=True)
class ReviewDeleted(EventPayload):
    """``review.deleted``: a reader took their review (and its rating) back."""

    VERSION = 1
    review_id: str
    book_id: str
    user_id: str


# --- forums ----------------------------------------------------------------------------------------
COMMUNITY_MENTIONED = "community.mentioned"


@dataclass(frozen=True)
class CommunityMentioned(EventPayload):
    """``community.mentioned``: a post names a reader with their ``@handle`` (told once per post)."""

    VERSION = 1
    post_id: str
    topic_id: str
    topic_title: str
    author_id: str
    author_handle: str
    mentioned_user_id: str


EVENTS = {REVIEW_POSTED: ReviewPosted, REVIEW_UPDATED: ReviewUpdated, REVIEW_DELETED: ReviewDeleted,
          COMMUNITY_MENTIONED: CommunityMentioned}
