"""Files tables, all in the PostgreSQL schema ``files``.

Bytes live in object storage (``STORAGES["coko_files"]``), addressed by their SHA-256; these
rows say what each blob is. Users and books belong to other domains: ``user_id`` /
``created_by`` are plain UUIDs, never foreign keys.
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
    """One distinct content, stored once under ``objects/<aa>/<bb>/<sha256>``."""

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
    created_by = models.UUIDField(null=True, blank=True)  # first uploader (accounts user)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["sha256"], name="files_object_sha256_once"),
            models.UniqueConstraint(fields=["key"], name="files_object_key_once"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.sha256[:12]}… ({self.size} B)"


class Derivative(models.Model):
    """Something made from a stored object: a cover's WebP thumbnails."""

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
    """Who uploaded which stored object (one row per user and object; the first name kept)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    object = models.ForeignKey(StoredObject, on_delete=models.PROTECT, related_name="uploads")
    user_id = models.UUIDField(db_index=True)
    filename = models.CharField(max_length=255, blank=True)  # as the client named it (display only)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["object", "user_id"], name="files_upload_once_per_user")]

    def __str__(self) -> str:
        return f"{self.filename or self.object_id} by {self.user_id}"
