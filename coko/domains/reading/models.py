"""Reading tables, all in the PostgreSQL schema ``reading``.

Readers are accounts' and books are the catalogue's: ``user_id`` and ``book_id`` are plain
UUIDs, never foreign keys.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase

from .contracts import POSITION_FORMS, POSITION_SOURCES


def _choices(values):
    return [(v, v) for v in values]


class OutboxEvent(OutboxEventBase):
    """Events the reading domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the reading domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events a reading handler failed on after every retry; staff replay them."""


class Progress(models.Model):
    """A reader's place in one book (or, for KOReader, in a document no book's file matches):
    one row per ``(user, book)``, in the canonical form that keeps what each client sent.

    ``progression`` (0–1 through the whole book) is the common ground: a Locator's
    ``totalProgression``, KOReader's ``percentage``. ``authority`` says which form the last
    writer sent; the other form, if present, is older (an XPointer and a CFI do not convert).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.UUIDField()
    book_id = models.UUIDField(null=True, blank=True)  # None: an unknown KOReader document
    document = models.CharField(max_length=128, blank=True)  # the KOReader document id last used
    progression = models.FloatField()
    authority = models.CharField(max_length=8, choices=_choices(POSITION_FORMS))
    locator = models.JSONField(null=True, blank=True)  # the Readium Locator, as sent
    koreader_progress = models.CharField(max_length=2000, blank=True)  # XPointer or page number
    device = models.CharField(max_length=120, blank=True)
    device_id = models.CharField(max_length=120, blank=True)
    source = models.CharField(max_length=8, choices=_choices(POSITION_SOURCES))
    client_time = models.DateTimeField()  # the client's time of the position
    server_time = models.DateTimeField()  # when the server accepted it
    started_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    # the last reading.progressed published (the throttle)
    announced_progression = models.FloatField(default=0.0)
    announced_at = models.DateTimeField()

    class Meta:
        verbose_name, verbose_name_plural = "reading position", "reading positions"
        indexes = [models.Index(fields=["user_id", "-server_time"], name="reading_progress_recent")]
        constraints = [
            models.UniqueConstraint(fields=["user_id", "book_id"], name="reading_progress_user_book",
                                    condition=Q(book_id__isnull=False)),
            models.UniqueConstraint(fields=["user_id", "document"], name="reading_progress_user_document",
                                    condition=Q(book_id__isnull=True)),
            models.CheckConstraint(condition=Q(progression__gte=0) & Q(progression__lte=1),
                                   name="reading_progress_progression_0_1"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.book_id or self.document} {self.progression:.3f}"


class ProgressEntry(models.Model):
    """One accepted position of a ``Progress``, kept so a mistaken sync can be undone: the
    last ``COKO_READING["HISTORY"]`` per book (older ones are dropped as new ones come)."""

    id = models.BigAutoField(primary_key=True)
    progress = models.ForeignKey(Progress, on_delete=models.CASCADE, related_name="history")
    progression = models.FloatField()
    authority = models.CharField(max_length=8, choices=_choices(POSITION_FORMS))
    locator = models.JSONField(null=True, blank=True)
    koreader_progress = models.CharField(max_length=2000, blank=True)
    device = models.CharField(max_length=120, blank=True)
    device_id = models.CharField(max_length=120, blank=True)
    source = models.CharField(max_length=8, choices=_choices(POSITION_SOURCES))
    client_time = models.DateTimeField()
    server_time = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["progress", "-id"], name="reading_entry_recent")]
