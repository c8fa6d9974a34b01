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
from .forums import (
    forum_create,
    member_ensure,
    post_create,
    post_delete,
    post_edit,
    topic_create,
    topic_moderate,
)

__all__ += ["forum_create", "member_ensure", "post_create", "post_delete", "post_edit", "topic_create",
            "topic_moderate"]
