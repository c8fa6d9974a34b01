"""Community reads: reviews, forums; no writes."""

from ._pages import Page
from .forums import (
    forum_get,
    forums_list,
    handles_of,
    post_get,
    post_revisions,
    posts_for_topic,
    topic_get,
    topics_for_forum,
)
from .reviews import (
    REVIEW_KEYS,
    book_rating,
    review_get,
    review_of_user_for_book,
    reviews_for_book,
    reviews_of_user,
)

__all__ = ["REVIEW_KEYS", "Page", "forum_get", "forums_list", "handles_of", "post_get", "post_revisions",
           "posts_for_topic", "topic_get", "topics_for_forum", "book_rating", "review_get", "review_of_user_for_book", "reviews_for_book",
           "reviews_of_user"]
