"""HTTP edge of the community domain, mounted by the platform at /api/v1.

Thin: parse, call a service or selector, shape the answer. Reviews: a book's
(``/books/{id}/reviews``), a reader's own (``/me/reviews``), one review
(``/community/reviews/{id}``) and its helpful votes. Forums: ``/community/forums``, their
topics, ``/community/posts`` (HTML rendered and sanitised when written), edits and their
history, tombstones, moderators' pins and locks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import get_language
from ninja import Field, Query, Router, Schema, Status

from coko.platform.auth.ninja import BearerAuth, require_permission, require_role
from coko.platform.contracts import UNSET
from coko.platform.http.openapi import error_statuses
from coko.platform.ratelimit import rate_limit_check

from . import selectors, services
from .models import Forum, Post, Review, Topic

router = Router(tags=["community"])
reader = BearerAuth()
reviewer = require_permission("write_reviews")
moderator = require_role("admin")  # accounts has no narrower moderator role yet

ReviewSort = Literal["helpful", "newest", "rating"]
LANGUAGE = r"^[A-Za-z]{2,3}$"


def _lang() -> str:
    return (get_language() or "fr")[:2]


# --- schemas ------------------------------------------------------------------------------------
class ReviewOut(Schema):
    id: UUID
    book_id: UUID
    user_id: UUID
    rating: int
    text: str
    language: str
    spoiler: bool = Field(description="the text tells what happens: hide it until the reader asks")
    helpful_count: int
    created_at: datetime
    updated_at: datetime
    edited: bool


class ReviewPageOut(Schema):
    items: list[ReviewOut]
    next_cursor: str | None = Field(description="pass it as cursor for the next page (null: the last page)")


class ReviewIn(Schema):
    rating: int = Field(..., ge=1, le=5, strict=True)
    text: str = Field("", max_length=20_000)
    language: str | None = Field(None, pattern=LANGUAGE, description="ISO 639; the request's language if omitted")
    spoiler: bool = False


class ReviewPatchIn(Schema):
    rating: int | None = Field(None, ge=1, le=5, strict=True)
    text: str | None = Field(None, max_length=20_000)
    language: str | None = Field(None, pattern=LANGUAGE)
    spoiler: bool | None = None


class PageIn(Schema):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=300, description="the next_cursor of the previous page")


class BookReviewsIn(PageIn):
    sort: ReviewSort = Field("helpful", description="helpful (most helpful first), newest, rating (best first)")
    language: str | None = Field(None, pattern=LANGUAGE, description="only reviews written in this language")


# --- shaping -------------------------------------------------------------------------------------
def _review_out(review: Review) -> dict:
    return {"id": review.id, "book_id": review.book_id, "user_id": review.user_id, "rating": review.rating,
            "text": review.text, "language": review.language, "spoiler": review.spoiler,
            "helpful_count": review.helpful_count, "created_at": review.created_at,
            "updated_at": review.updated_at, "edited": review.updated_at > review.created_at}


def _page_out(page: selectors.Page) -> dict:
    return {"items": [_review_out(r) for r in page.items], "next_cursor": page.next_cursor}


# --- reviews -------------------------------------------------------------------------------------
@router.get("/books/{book_id}/reviews", response=ReviewPageOut, auth=None,
            summary="A book's reviews: most helpful, newest or best rated first, in one language if asked",
            openapi_extra=error_statuses(404))
def book_reviews(request: HttpRequest, book_id: UUID, params: Query[BookReviewsIn]):
    services.book_visible_check(book_id=book_id)
    return _page_out(selectors.reviews_for_book(book_id=book_id, sort=params.sort, language=params.language,
                                                limit=params.limit, cursor=params.cursor))


@router.post("/books/{book_id}/reviews", response={201: ReviewOut}, auth=reviewer,
             summary="Rate and review a book (one review per reader per book)",
             openapi_extra=error_statuses(404, 409, 429))
def review_post(request: HttpRequest, book_id: UUID, payload: ReviewIn):
    user_id = request.auth.user_id
    hits, window_s = settings.COKO_COMMUNITY["REVIEW_RATE"]
    rate_limit_check(key=f"community:review:{user_id}", limit=hits, window_s=window_s)
    review = services.review_post(user_id=user_id, book_id=book_id, rating=payload.rating, text=payload.text,
                                  language=payload.language or _lang(), spoiler=payload.spoiler)
    return Status(201, _review_out(review))


@router.get("/me/reviews", response=ReviewPageOut, auth=reader, summary="My reviews, newest first",
            openapi_extra=error_statuses(422))
def my_reviews(request: HttpRequest, params: Query[PageIn]):
    return _page_out(selectors.reviews_of_user(user_id=request.auth.user_id, limit=params.limit,
                                               cursor=params.cursor))


@router.get("/community/reviews/{review_id}", response=ReviewOut, auth=None, summary="One review",
            openapi_extra=error_statuses(404))
def review_get(request: HttpRequest, review_id: UUID):
    return _review_out(selectors.review_get(review_id=review_id))


@router.patch("/community/reviews/{review_id}", response=ReviewOut, auth=reader,
              summary="Change my review (its rating, text, language or spoiler flag)",
              openapi_extra=error_statuses(404))
def review_update(request: HttpRequest, review_id: UUID, payload: ReviewPatchIn):
    sent = payload.dict(exclude_unset=True)
    changes = services.ReviewChanges(**{name: sent[name] if sent.get(name) is not None else UNSET
                                        for name in services.reviews.REVIEW_FIELDS})
    review = services.review_update(user_id=request.auth.user_id, review_id=review_id, changes=changes)
    return _review_out(review)


@router.delete("/community/reviews/{review_id}", response={204: None}, auth=reader,
               summary="Delete my review (and its rating)", openapi_extra=error_statuses(404))
def review_delete(request: HttpRequest, review_id: UUID):
    services.review_delete(user_id=request.auth.user_id, review_id=review_id)
    return Status(204, None)


@router.put("/community/reviews/{review_id}/helpful", response=ReviewOut, auth=reader,
            summary="Mark a review as helpful (once; not my own)", openapi_extra=error_statuses(404, 422))
def review_helpful_mark(request: HttpRequest, review_id: UUID):
    return _review_out(services.review_helpful_mark(user_id=request.auth.user_id, review_id=review_id))


@router.delete("/community/reviews/{review_id}/helpful", response=ReviewOut, auth=reader,
               summary="Take back my helpful vote", openapi_extra=error_statuses(404))
def review_helpful_unmark(request: HttpRequest, review_id: UUID):
    return _review_out(services.review_helpful_unmark(user_id=request.auth.user_id, review_id=review_id))


# --- forums ----------------------------------------------------------------------------------------
class ForumOut(Schema):
    id: UUID
    slug: str
    name: str
    description: str


class TopicOut(Schema):
    id: UUID
    forum_id: UUID
    title: str
    user_id: UUID
    author_handle: str | None
    pinned: bool
    locked: bool = Field(description="no more posts or edits")
    post_count: int
    created_at: datetime
    last_posted_at: datetime


class TopicPageOut(Schema):
    items: list[TopicOut]
    next_cursor: str | None


class PostOut(Schema):
    id: UUID
    topic_id: UUID
    parent_id: UUID | None = Field(description="the post this one answers")
    user_id: UUID
    author_handle: str | None
    html: str = Field(description="the Markdown rendered and sanitised; empty for a deleted post")
    body: str = Field(description="the Markdown as written; empty for a deleted post")
    created_at: datetime
    edited_at: datetime | None
    deleted: bool


class PostPageOut(Schema):
    items: list[PostOut]
    next_cursor: str | None


class RevisionOut(Schema):
    body: str
    written_at: datetime
    replaced_at: datetime


class TopicIn(Schema):
    forum_id: UUID
    title: str = Field(..., min_length=3, max_length=200)
    body: str = Field(..., min_length=1, max_length=40_000, description="Markdown; @handle mentions a reader")


class PostIn(Schema):
    topic_id: UUID
    body: str = Field(..., min_length=1, max_length=40_000, description="Markdown; @handle mentions a reader")
    parent_id: UUID | None = Field(None, description="the post this one answers (same topic)")


class PostPatchIn(Schema):
    body: str = Field(..., min_length=1, max_length=40_000)


class ModerationIn(Schema):
    pinned: bool | None = None
    locked: bool | None = None


class PostPageIn(PageIn):
    limit: int = Field(50, ge=1, le=100)


def _translated(values: dict, fallback: str = "") -> str:
    return values.get(_lang()) or values.get("fr") or values.get("en") or fallback


def _forum_out(forum: Forum) -> dict:
    return {"id": forum.id, "slug": forum.slug, "name": _translated(forum.names, forum.slug),
            "description": _translated(forum.descriptions)}


def _topic_out(topic: Topic, handles: dict[str, str]) -> dict:
    return {"id": topic.id, "forum_id": topic.forum_id, "title": topic.title, "user_id": topic.user_id,
            "author_handle": handles.get(str(topic.user_id)), "pinned": topic.pinned, "locked": topic.locked,
            "post_count": topic.post_count, "created_at": topic.created_at, "last_posted_at": topic.last_posted_at}


def _post_out(post: Post, handles: dict[str, str]) -> dict:
    return {"id": post.id, "topic_id": post.topic_id, "parent_id": post.parent_id, "user_id": post.user_id,
            "author_handle": handles.get(str(post.user_id)), "html": post.html, "body": post.body,
            "created_at": post.created_at, "edited_at": post.edited_at, "deleted": post.deleted_at is not None}


def _one_topic(topic: Topic) -> dict:
    return _topic_out(topic, selectors.handles_of(user_ids=[topic.user_id]))


def _one_post(post: Post) -> dict:
    return _post_out(post, selectors.handles_of(user_ids=[post.user_id]))


def _posting_limit(user_id) -> None:
    hits, window_s = settings.COKO_COMMUNITY["POST_RATE"]
    rate_limit_check(key=f"community:post:{user_id}", limit=hits, window_s=window_s)


@router.get("/community/forums", response=list[ForumOut], auth=None, summary="The forums, named in my language")
def forums(request: HttpRequest):
    return [_forum_out(f) for f in selectors.forums_list()]


@router.get("/community/forums/{forum_id}/topics", response=TopicPageOut, auth=None,
            summary="A forum's topics: pinned first, then newest first", openapi_extra=error_statuses(404))
def forum_topics(request: HttpRequest, forum_id: UUID, params: Query[PageIn]):
    found = selectors.topics_for_forum(forum_id=forum_id, limit=params.limit, cursor=params.cursor)
    handles = selectors.handles_of(user_ids=[t.user_id for t in found.items])
    return {"items": [_topic_out(t, handles) for t in found.items], "next_cursor": found.next_cursor}


@router.post("/community/topics", response={201: TopicOut}, auth=reader,
             summary="Open a topic in a forum with its first post", openapi_extra=error_statuses(404, 429))
def topic_create(request: HttpRequest, payload: TopicIn):
    _posting_limit(request.auth.user_id)
    topic = services.topic_create(user_id=request.auth.user_id, forum_id=payload.forum_id, title=payload.title,
                                  body=payload.body)
    return Status(201, _one_topic(topic))


@router.get("/community/topics/{topic_id}", response=TopicOut, auth=None, summary="One topic",
            openapi_extra=error_statuses(404))
def topic_get(request: HttpRequest, topic_id: UUID):
    return _one_topic(selectors.topic_get(topic_id=topic_id))


@router.get("/community/topics/{topic_id}/posts", response=PostPageOut, auth=None,
            summary="A topic's posts, oldest first (a deleted post stays as a tombstone)",
            openapi_extra=error_statuses(404))
def topic_posts(request: HttpRequest, topic_id: UUID, params: Query[PostPageIn]):
    selectors.topic_get(topic_id=topic_id)
    found = selectors.posts_for_topic(topic_id=topic_id, limit=params.limit, cursor=params.cursor)
    handles = selectors.handles_of(user_ids=[p.user_id for p in found.items])
    return {"items": [_post_out(p, handles) for p in found.items], "next_cursor": found.next_cursor}


@router.post("/community/topics/{topic_id}/moderation", response=TopicOut, auth=moderator,
             summary="Pin or unpin, lock or unlock a topic (moderators)", openapi_extra=error_statuses(404))
def topic_moderate(request: HttpRequest, topic_id: UUID, payload: ModerationIn):
    return _one_topic(services.topic_moderate(topic_id=topic_id, pinned=payload.pinned, locked=payload.locked))


@router.post("/community/posts", response={201: PostOut}, auth=reader,
             summary="Post in a topic, or reply to one of its posts", openapi_extra=error_statuses(404, 429))
def post_create(request: HttpRequest, payload: PostIn):
    _posting_limit(request.auth.user_id)
    post = services.post_create(user_id=request.auth.user_id, topic_id=payload.topic_id, body=payload.body,
                                parent_id=payload.parent_id)
    return Status(201, _one_post(post))


@router.get("/community/posts/{post_id}", response=PostOut, auth=None, summary="One post",
            openapi_extra=error_statuses(404))
def post_get(request: HttpRequest, post_id: UUID):
    return _one_post(selectors.post_get(post_id=post_id))


@router.patch("/community/posts/{post_id}", response=PostOut, auth=reader,
              summary="Rewrite my post (the earlier text is kept in its history)", openapi_extra=error_statuses(404))
def post_edit(request: HttpRequest, post_id: UUID, payload: PostPatchIn):
    return _one_post(services.post_edit(user_id=request.auth.user_id, post_id=post_id, body=payload.body))


@router.get("/community/posts/{post_id}/revisions", response=list[RevisionOut], auth=None,
            summary="A post's earlier texts, oldest first", openapi_extra=error_statuses(404))
def post_revisions(request: HttpRequest, post_id: UUID):
    return [{"body": r.body, "written_at": r.written_at, "replaced_at": r.replaced_at}
            for r in selectors.post_revisions(post_id=post_id)]


@router.delete("/community/posts/{post_id}", response={204: None}, auth=reader,
               summary="Delete my post (moderators: any post); a tombstone keeps the thread",
               openapi_extra=error_statuses(404))
def post_delete(request: HttpRequest, post_id: UUID):
    services.post_delete(user_id=request.auth.user_id, post_id=post_id, moderator="admin" in request.auth.roles)
    return Status(204, None)
