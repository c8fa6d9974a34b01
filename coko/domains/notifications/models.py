"""Notifications tables, all in the PostgreSQL schema ``notifications``.

Users belong to accounts: ``user_id`` is a plain UUID, never a foreign key.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from coko.platform.crypto import EncryptedTextField
from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase

from .contracts import CATEGORIES, CHANNELS, DEVICE_KINDS


class OutboxEvent(OutboxEventBase):
    """Events the notifications domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the notifications domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events a notifications handler failed on after every retry; staff replay them."""


class Notification(models.Model):
    """One thing to tell one person; rendered and delivered on one or more channels.

    ``user_id`` is None for a message to an address that has no account yet (a sign-up code).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.UUIDField(db_index=True, null=True, blank=True)
    template = models.CharField(max_length=64)
    category = models.CharField(max_length=16, choices=[(c, c) for c in CATEGORIES])
    context = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=8)
    idempotency_key = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.template} → {self.user_id}"


class Delivery(models.Model):
    """A notification on one channel: queued, then sent or failed."""

    QUEUED, SENT, FAILED = "queued", "sent", "failed"

    id = models.BigAutoField(primary_key=True)
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(max_length=16, choices=[(c, c) for c in CHANNELS])
    destination = EncryptedTextField(blank=True, default="")  # address, number, token (encrypted)
    device_token_id = models.BigIntegerField(null=True, blank=True)  # push/webpush: the token used
    status = models.CharField(max_length=8, default=QUEUED,
                              choices=[(s, s) for s in (QUEUED, SENT, FAILED)])
    attempts = models.PositiveIntegerField(default=0)
    not_before = models.DateTimeField(null=True, blank=True)  # held back by quiet hours
    provider = models.CharField(max_length=32, blank=True)
    provider_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["notification", "channel"],
                                               name="notifications_delivery_once_per_channel")]


class DeliveryAttempt(models.Model):
    """Every try of a delivery, with its outcome (append-only log)."""

    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    outcome = models.CharField(max_length=16)  # sent | temporary | permanent | invalid
    provider = models.CharField(max_length=32, blank=True)
    provider_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)


class UserSettings(models.Model):
    """Quiet hours, in the user's own time zone."""

    user_id = models.UUIDField(primary_key=True)
    time_zone = models.CharField(max_length=64, default="Africa/Dakar")
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "user settings"


class Preference(models.Model):
    """An explicit choice for one category on one channel (absent: the default)."""

    id = models.BigAutoField(primary_key=True)
    user_id = models.UUIDField(db_index=True)
    category = models.CharField(max_length=16, choices=[(c, c) for c in CATEGORIES])
    channel = models.CharField(max_length=16, choices=[(c, c) for c in CHANNELS])
    enabled = models.BooleanField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user_id", "category", "channel"],
                                               name="notifications_preference_once")]


class DeviceToken(models.Model):
    """A mobile device (FCM token) or a browser (web-push subscription JSON) of a user."""

    id = models.BigAutoField(primary_key=True)
    user_id = models.UUIDField(db_index=True)
    kind = models.CharField(max_length=8, choices=[(k, k) for k in DEVICE_KINDS])
    token = models.TextField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)


class InboxItem(models.Model):
    """The in-app inbox of a user."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.UUIDField()
    notification = models.OneToOneField(Notification, on_delete=models.CASCADE, related_name="inbox_item")
    category = models.CharField(max_length=16)
    title = models.CharField(max_length=255)
    body = models.TextField()
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["user_id", "-created_at"], name="notifications_inbox_recent")]
