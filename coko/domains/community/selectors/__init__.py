"""Community reads: reviews (and, as they come, forums); no writes."""

from ._pages import Page
from .reviews import (
    REVIEW_KEYS,
    book_rating,
    review_get,
    review_of_user_for_book,
    reviews_for_book,
    reviews_of_user,
)

__all__ = ["REVIEW_KEYS", "Page", "book_rating", "review_get", "review_of_user_for_book", "reviews_for_book",
           "reviews_of_user"]
