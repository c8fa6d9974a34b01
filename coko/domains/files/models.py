"""Files tables, all in the PostgreSQL schema ``files``.

Bytes live in object storage (``STORAGES["coko_files"]``), addressed by their SHA-256: one
blob per content, however many owners uploaded it. A ``StoredObject`` is one owner's file
record over that blob (its own id), so an upload never answers another owner's id. Users and
books belong to other domains: ``user_id`` / ``created_by`` are plain UUIDs, never foreign keys.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase

from .contracts import FILE_KINDS


class OutboxEvent(OutboxEventBase):
    """Events the files domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the files domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events a files handler failed on after every retry; staff replay them."""


class StoredObject(models.Model):
    """One owner's file: its content's blob (``objects/<aa>/<bb>/<sha256>``, shared with every
    other owner of the same bytes) and what it is. One per owner and content."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sha256 = models.CharField(max_length=64)
    koreader_md5 = models.CharField(max_length=32, db_index=True)  # KOReader's partial MD5
    kind = models.CharField(max_length=8, choices=[(k, k) for k in FILE_KINDS])
    media_type = models.CharField(max_length=100)
    extension = models.CharField(max_length=8)  # "epub", "pdf", "jpg", "m4b" … (from the bytes)
    size = models.PositiveBigIntegerField()
    key = models.CharField(max_length=255)  # the blob's key in the files storage
    width = models.PositiveIntegerField(null=True, blank=True)  # images only
    height = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.UUIDField(null=True, blank=True)  # the owner (accounts user); None: the platform's
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["sha256"], name="files_object_sha256")]
        constraints = [
            models.UniqueConstraint(fields=["sha256", "created_by"], name="files_object_once_per_owner",
                                    condition=models.Q(created_by__isnull=False)),
            models.UniqueConstraint(fields=["sha256"], name="files_object_once_unowned",
                                    condition=models.Q(created_by__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.sha256[:12]}… ({self.size} B)"


class Derivative(models.Model):
    """Something made from a stored object: a cover's WebP thumbnails (blobs shared, like the
    object's, with every file of the same content)."""

    id = models.BigAutoField(primary_key=True)
    source = models.ForeignKey(StoredObject, on_delete=models.PROTECT, related_name="derivatives")
    name = models.CharField(max_length=16)  # "small", "medium", "large"
    media_type = models.CharField(max_length=100)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "name"], name="files_derivative_once")]

    def __str__(self) -> str:
        return f"{self.name} of {self.source_id}"


class Upload(models.Model):
    """Who uploaded which stored object, under which name (the first name kept). One per object
    since files are per owner; files stored before that may have several."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    object = models.ForeignKey(StoredObject, on_delete=models.PROTECT, related_name="uploads")
    user_id = models.UUIDField(db_index=True)
    filename = models.CharField(max_length=255, blank=True)  # as the client named it (display only)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["object", "user_id"], name="files_upload_once_per_user")]

    def __str__(self) -> str:
        return f"{self.filename or self.object_id} by {self.user_id}"
