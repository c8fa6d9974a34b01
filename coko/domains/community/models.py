"""Community tables, all in the PostgreSQL schema ``community``.

Readers are accounts' and books are the catalogue's: ``user_id`` and ``book_id`` are plain
UUIDs, never foreign keys.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase

from .contracts import RATING_MAX, RATING_MIN


class OutboxEvent(OutboxEventBase):
    """Events the community domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the community domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events a community handler failed on after every retry; staff replay them."""


# --- reviews and ratings ----------------------------------------------------------------------------
class Review(models.Model):
    """One reader's rating (1–5) of one book, with an optional text: one per reader per book."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    book_id = models.UUIDField()
    user_id = models.UUIDField()
    rating = models.PositiveSmallIntegerField()
    text = models.TextField(blank=True, default="")
    language = models.CharField(max_length=3)  # ISO 639-1 (or -3 when there is no two-letter code)
    spoiler = models.BooleanField(default=False)
    helpful_count = models.PositiveIntegerField(default=0)  # kept with ReviewVote, in one transaction
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["book_id", "user_id"], name="community_review_once"),
            models.CheckConstraint(condition=Q(rating__gte=RATING_MIN, rating__lte=RATING_MAX),
                                   name="community_review_rating_range"),
        ]
        indexes = [  # one per sort of a book's reviews (keyset pages), and a reader's own
            models.Index(fields=["book_id", "-helpful_count", "-created_at", "-id"], name="community_review_helpful"),
            models.Index(fields=["book_id", "-created_at", "-id"], name="community_review_newest"),
            models.Index(fields=["book_id", "-rating", "-created_at", "-id"], name="community_review_rating"),
            models.Index(fields=["user_id", "-created_at", "-id"], name="community_review_mine"),
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 on {self.book_id} by {self.user_id}"


class ReviewVote(models.Model):
    """A reader found a review helpful (once; never their own)."""

    id = models.BigAutoField(primary_key=True)
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="votes")
    user_id = models.UUIDField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["review", "user_id"], name="community_review_vote_once")]


# --- forums ----------------------------------------------------------------------------------------
class Member(models.Model):
    """A reader as the community names them: the ``@handle`` mentions use (made at their first post)."""

    user_id = models.UUIDField(primary_key=True)
    handle = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField()


class Forum(models.Model):
    """A place for topics, created by staff, named in every language of the site."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    slug = models.SlugField(max_length=60, unique=True)
    names = models.JSONField(default=dict, help_text='{"fr": "…", "en": "…"}')
    descriptions = models.JSONField(default=dict, blank=True, help_text='{"fr": "…", "en": "…"}')
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.names.get("fr") or self.slug


class Topic(models.Model):
    """A conversation in a forum; moderators pin it (listed first) or lock it (no more posts)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    forum = models.ForeignKey(Forum, on_delete=models.PROTECT, related_name="topics")
    user_id = models.UUIDField()
    title = models.CharField(max_length=200)
    pinned = models.BooleanField(default=False)
    locked = models.BooleanField(default=False)
    post_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    last_posted_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["forum", "-pinned", "-created_at", "-id"], name="community_topic_list")]

    def __str__(self) -> str:
        return self.title


class Post(models.Model):
    """A message in a topic (a reply names its ``parent``). ``html`` is the Markdown rendered and
    sanitised once, when written. A deleted post stays as a tombstone: the thread still reads."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="posts")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="replies")
    user_id = models.UUIDField()
    body = models.TextField()
    html = models.TextField()
    created_at = models.DateTimeField()
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.UUIDField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["topic", "created_at", "id"], name="community_post_thread")]


class PostRevision(models.Model):
    """A post's earlier body, kept when its author edits it (append-only)."""

    id = models.BigAutoField(primary_key=True)
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    written_at = models.DateTimeField()  # when this body was written (the post's, or the previous edit's)
    replaced_at = models.DateTimeField()
