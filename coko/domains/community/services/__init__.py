"""Community use cases that write: one durable transaction each, state and events together."""

from .reviews import (
    ReviewChanges,
    book_rating_sync,
    book_visible_check,
    review_delete,
    review_helpful_mark,
    review_helpful_unmark,
    review_post,
    review_update,
)

__all__ = ["ReviewChanges", "book_rating_sync", "book_visible_check", "review_delete", "review_helpful_mark",
           "review_helpful_unmark", "review_post", "review_update"]
