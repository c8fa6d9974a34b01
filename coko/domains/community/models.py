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
