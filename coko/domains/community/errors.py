"""Every error the community domain answers: one code, one message, one shape of details.

``book_not_found`` is the catalogue's (and files'), with its message and ``book_id``.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from coko.platform.auth import errors as auth_errors
from coko.platform.errors import Conflict, ErrorCode, NotFound, Unprocessable

D = "community"

PERMISSION_DENIED = auth_errors.PERMISSION_DENIED  # the platform's: one code, one shape in every domain

# --- reviews ----------------------------------------------------------------------------------------
BOOK_NOT_FOUND = ErrorCode(D, "book_not_found", NotFound, _("There is no such book."), details=("book_id",))
REVIEW_NOT_FOUND = ErrorCode(D, "review_not_found", NotFound, _("There is no such review."),
                             details=("review_id",))
REVIEW_ALREADY_POSTED = ErrorCode(D, "review_already_posted", Conflict,
                                  _("You have already reviewed this book; edit your review instead."),
                                  details=("book_id", "review_id"))
REVIEW_RATING_INVALID = ErrorCode(D, "review_rating_invalid", Unprocessable,
                                  _("A rating is a whole number from 1 to 5."), details=("rating",))
REVIEW_LANGUAGE_INVALID = ErrorCode(D, "review_language_invalid", Unprocessable,
                                    _("This is not a language code (ISO 639)."), details=("language",))
REVIEW_TOO_LONG = ErrorCode(D, "review_too_long", Unprocessable, _("This review is too long."),
                            details=("limit",))
REVIEW_OWN_VOTE = ErrorCode(D, "review_own_vote", Unprocessable,
                            _("You cannot mark your own review as helpful."), details=("review_id",))
INVALID_PAGE_CURSOR = ErrorCode(D, "invalid_page_cursor", Unprocessable, _("This page cursor is not valid."),
                                details=("cursor",))

# --- forums -----------------------------------------------------------------------------------------
FORUM_NOT_FOUND = ErrorCode(D, "forum_not_found", NotFound, _("There is no such forum."), details=("forum_id",))
TOPIC_NOT_FOUND = ErrorCode(D, "topic_not_found", NotFound, _("There is no such topic."), details=("topic_id",))
POST_NOT_FOUND = ErrorCode(D, "post_not_found", NotFound, _("There is no such post."), details=("post_id",))
TOPIC_LOCKED = ErrorCode(D, "topic_locked", Conflict, _("This topic is locked: nobody can post in it."),
                         details=("topic_id",))
POST_DELETED = ErrorCode(D, "post_deleted", Conflict, _("This post was deleted."), details=("post_id",))
POST_PARENT_INVALID = ErrorCode(D, "post_parent_invalid", Unprocessable,
                                _("A reply answers a post of the same topic."), details=("parent_id",))
POST_EMPTY = ErrorCode(D, "post_empty", Unprocessable, _("A post needs some text."))
POST_TOO_LONG = ErrorCode(D, "post_too_long", Unprocessable, _("This post is too long."), details=("limit",))
