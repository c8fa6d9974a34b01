"""The community facade: the only functions other domains may call.

Arguments and results are plain values or the frozen types of ``community.contracts``;
models and querysets never cross this boundary.
"""

from __future__ import annotations

from . import contracts, selectors


def book_rating(*, book_id: str) -> contracts.BookRating:
    """A book's readers' average rating (None until rated) and number of ratings, from the reviews."""
    return selectors.book_rating(book_id=book_id)


def reader_rating(*, user_id: str, book_id: str) -> int | None:
    """The rating (1–5) this reader gave this book, or None (recommendations' explicit signal)."""
    review = selectors.review_of_user_for_book(user_id=user_id, book_id=book_id)
    return review.rating if review else None
