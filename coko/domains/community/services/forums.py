"""Forums: topics and posts (replies, edits with their history, tombstones), moderators'
pins and locks, ``@mentions`` that tell the mentioned reader (``community.mentioned``)."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F

from coko.domains.accounts import api as accounts_api
from coko.platform import clock
from coko.platform.events import publish
from coko.platform.services import use_case

from .. import contracts, errors, values
from ..models import Forum, Member, Post, PostRevision, Topic
from ._shared import DB


def _body_checked(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise errors.POST_EMPTY()
    limit = settings.COKO_COMMUNITY["POST_MAX_CHARS"]
    if len(body) > limit:
        raise errors.POST_TOO_LONG(limit=limit)
    return body


def member_ensure(*, user_id) -> Member:
    """The reader's community name (``@handle``), made from their display name the first time.
    Runs in the caller's transaction."""
    member = Member.objects.filter(user_id=user_id).first()
    if member is not None:
        return member
    summary = accounts_api.user_summary(user_id=str(user_id))
    base = values.handle_from_name(summary.display_name if summary else "")
    for n in range(1, 1000):
        handle = base if n == 1 else f"{base[:28]}_{n}"
        try:
            with transaction.atomic(using=DB):
                return Member.objects.create(user_id=user_id, handle=handle, created_at=clock.now())
        except IntegrityError:
            again = Member.objects.filter(user_id=user_id).first()
            if again is not None:  # made concurrently by the reader's other request
                return again
    raise RuntimeError(f"no free handle for {base!r}")


def _render(*, body: str) -> tuple[str, dict[str, str]]:
    """The post's HTML and the members it names (handle → user id)."""
    handles = values.mentioned_handles(body)
    members = dict(Member.objects.filter(handle__in=handles).values_list("handle", "user_id")) if handles else {}
    return values.post_html(body=body, handles=frozenset(members)), {h: str(u) for h, u in members.items()}


def _announce_mentions(post: Post, *, author: Member, mentioned: dict[str, str], already: set[str] = frozenset()):
    for handle, user_id in mentioned.items():
        if handle in already or user_id == str(post.user_id):
            continue
        publish(producer=DB, type=contracts.COMMUNITY_MENTIONED, aggregate_id=user_id,
                payload=contracts.CommunityMentioned(
                    post_id=str(post.id), topic_id=str(post.topic_id), topic_title=post.topic.title,
                    author_id=str(post.user_id), author_handle=author.handle, mentioned_user_id=user_id))


def _topic_for_posting(topic_id) -> Topic:
    topic = Topic.objects.select_for_update().filter(id=topic_id).first()
    if topic is None:
        raise errors.TOPIC_NOT_FOUND(topic_id=str(topic_id))
    if topic.locked:
        raise errors.TOPIC_LOCKED(topic_id=str(topic_id))
    return topic


def _post_write(*, topic: Topic, user_id, body: str, parent: Post | None = None) -> Post:
    author = member_ensure(user_id=user_id)
    html, mentioned = _render(body=body)
    now = clock.now()
    post = Post.objects.create(topic=topic, parent=parent, user_id=user_id, body=body, html=html, created_at=now)
    Topic.objects.filter(id=topic.id).update(post_count=F("post_count") + 1, last_posted_at=now)
    _announce_mentions(post, author=author, mentioned=mentioned)
    return post


@use_case(DB)
def topic_create(*, user_id, forum_id, title: str, body: str) -> Topic:
    """A new topic in a forum, opened by its first post."""
    forum = Forum.objects.filter(id=forum_id).first()
    if forum is None:
        raise errors.FORUM_NOT_FOUND(forum_id=str(forum_id))
    body, now = _body_checked(body), clock.now()
    topic = Topic.objects.create(forum=forum, user_id=user_id, title=title.strip(), created_at=now,
                                 last_posted_at=now)
    _post_write(topic=topic, user_id=user_id, body=body)
    topic.refresh_from_db()
    return topic


@use_case(DB)
def post_create(*, user_id, topic_id, body: str, parent_id=None) -> Post:
    """A post in an open topic, perhaps a reply to one of its posts."""
    body = _body_checked(body)
    topic = _topic_for_posting(topic_id)
    parent = None
    if parent_id is not None:
        parent = Post.objects.filter(id=parent_id, topic=topic).first()
        if parent is None:
            raise errors.POST_PARENT_INVALID(parent_id=str(parent_id))
    return _post_write(topic=topic, user_id=user_id, body=body, parent=parent)


def _post_for_change(*, post_id, user_id, moderator: bool) -> Post:
    post = Post.objects.select_for_update().select_related("topic").filter(id=post_id).first()
    if post is None:
        raise errors.POST_NOT_FOUND(post_id=str(post_id))
    if str(post.user_id) != str(user_id) and not moderator:
        raise errors.PERMISSION_DENIED(missing_permissions=[], required_roles=["admin"])
    if post.deleted_at is not None:
        raise errors.POST_DELETED(post_id=str(post_id))
    return post


@use_case(DB)
def post_edit(*, user_id, post_id, body: str) -> Post:
    """The author rewrites their post; the earlier body is kept in its history. Readers newly
    mentioned are told; those the post named before are not told again. A locked topic is closed
    to edits too."""
    body = _body_checked(body)
    post = _post_for_change(post_id=post_id, user_id=user_id, moderator=False)
    if post.topic.locked:
        raise errors.TOPIC_LOCKED(topic_id=str(post.topic_id))
    if body == post.body:
        return post
    now = clock.now()
    PostRevision.objects.create(post=post, body=post.body, written_at=post.edited_at or post.created_at,
                                replaced_at=now)
    before = set(values.mentioned_handles(post.body))
    post.html, mentioned = _render(body=body)
    post.body, post.edited_at = body, now
    post.save(update_fields=["body", "html", "edited_at"])
    _announce_mentions(post, author=member_ensure(user_id=user_id), mentioned=mentioned, already=before)
    return post


@use_case(DB)
def post_delete(*, user_id, post_id, moderator: bool = False) -> Post:
    """Its author or a moderator deletes a post: its text goes, a tombstone keeps the thread's
    shape (replies still answer it)."""
    post = _post_for_change(post_id=post_id, user_id=user_id, moderator=moderator)
    post.body = post.html = ""
    post.deleted_at, post.deleted_by = clock.now(), user_id
    post.save(update_fields=["body", "html", "deleted_at", "deleted_by"])
    post.revisions.all().delete()  # the deleted words go with it, history included
    return post


@use_case(DB)
def topic_moderate(*, topic_id, pinned: bool | None = None, locked: bool | None = None) -> Topic:
    """A moderator pins (listed first) or unpins, locks (no more posts or edits) or unlocks a topic."""
    topic = Topic.objects.select_for_update().filter(id=topic_id).first()
    if topic is None:
        raise errors.TOPIC_NOT_FOUND(topic_id=str(topic_id))
    changed = [name for name, value in (("pinned", pinned), ("locked", locked))
               if value is not None and getattr(topic, name) != value]
    for name in changed:
        setattr(topic, name, not getattr(topic, name))
    if changed:
        topic.save(update_fields=changed)
    return topic


@use_case(DB)
def forum_create(*, slug: str, names: dict[str, str], descriptions: dict[str, str] | None = None,
                 position: int = 0) -> Forum:
    """A forum (staff: the console, or demo data), named in French and English at least."""
    return Forum.objects.create(slug=slug, names=dict(names), descriptions=dict(descriptions or {}),
                                position=position)
