"""Reads of forums: the forums, a forum's topics (pinned first, newest first), a topic's posts
(oldest first), a post's edit history, members' handles."""

from __future__ import annotations

from .. import errors
from ..models import Forum, Member, Post, PostRevision, Topic
from ._pages import Key, Page, page

TOPIC_KEY = Key("topics", ("pinned", "created_at", "id"), ("bool", "datetime", "uuid"))
POST_KEY = Key("posts", ("created_at", "id"), ("datetime", "uuid"), descending=False)


def forums_list() -> list[Forum]:
    """Every forum, in the order staff set."""
    return list(Forum.objects.order_by("position", "slug"))


def forum_get(*, forum_id) -> Forum:
    """One forum, or ``forum_not_found``."""
    forum = Forum.objects.filter(id=forum_id).first()
    if forum is None:
        raise errors.FORUM_NOT_FOUND(forum_id=str(forum_id))
    return forum


def topics_for_forum(*, forum_id, limit: int = 20, cursor: str | None = None) -> Page:
    """A forum's topics: pinned first, then newest first (new topics do not shift later pages)."""
    forum_get(forum_id=forum_id)
    return page(Topic.objects.filter(forum_id=forum_id), key=TOPIC_KEY, limit=limit, cursor=cursor)


def topic_get(*, topic_id) -> Topic:
    """One topic, or ``topic_not_found``."""
    topic = Topic.objects.select_related("forum").filter(id=topic_id).first()
    if topic is None:
        raise errors.TOPIC_NOT_FOUND(topic_id=str(topic_id))
    return topic


def posts_for_topic(*, topic_id, limit: int = 50, cursor: str | None = None) -> Page:
    """A topic's posts, oldest first (tombstones included, in their place); new posts come at
    the end, so a reader paging through never sees one twice or misses one."""
    return page(Post.objects.filter(topic_id=topic_id), key=POST_KEY, limit=limit, cursor=cursor)


def post_get(*, post_id) -> Post:
    """One post, or ``post_not_found``."""
    post = Post.objects.filter(id=post_id).first()
    if post is None:
        raise errors.POST_NOT_FOUND(post_id=str(post_id))
    return post


def post_revisions(*, post_id) -> list[PostRevision]:
    """A post's earlier bodies, oldest first."""
    post_get(post_id=post_id)
    return list(PostRevision.objects.filter(post_id=post_id).order_by("id"))


def handles_of(*, user_ids) -> dict[str, str]:
    """The ``@handles`` of these readers (user id → handle), one query."""
    return {str(u): h for u, h in Member.objects.filter(user_id__in=set(user_ids)).values_list("user_id", "handle")}
