"""Abstract event tables; every domain declares concrete ones in its own schema.

* ``OutboxEventBase``: what the domain published, written in the transaction that
  changed its state; the relay moves rows from pending to sent (or unrouted,
  when no handler takes the type yet: they are routed once one does).
* ``InboxEntryBase``: one row per (handler, event) applied or parked, the
  de-duplication that makes at-least-once delivery take effect once.
* ``DeadLetterBase``: events a handler failed on after all its retries.
"""

from __future__ import annotations

import pgtrigger
from django.db import models

from .envelope import Event


class OutboxState(models.IntegerChoices):
    PENDING = 0, "pending"
    SENT = 1, "sent"
    UNROUTED = 2, "unrouted (no subscriber yet)"


class OutboxEventBase(models.Model):
    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True)
    type = models.CharField(max_length=120)
    version = models.PositiveSmallIntegerField(default=1)
    occurred_at = models.DateTimeField()
    aggregate_id = models.CharField(max_length=64)
    payload = models.JSONField()
    trace_id = models.CharField(max_length=64, blank=True)
    # W3C trace context of the publishing span (NULL when tracing is off, and for rows
    # written before this column: a writer that does not know it still inserts).
    trace_context = models.JSONField(null=True, blank=True)
    state = models.PositiveSmallIntegerField(choices=OutboxState.choices, default=OutboxState.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        verbose_name = "outbox event"
        indexes = [
            models.Index(fields=["id"], condition=models.Q(state=0), name="%(app_label)s_obx_pending"),
            # The relay's "oldest pending event of its aggregate" test reads only pending rows.
            models.Index(fields=["aggregate_id", "id"], condition=models.Q(state=0),
                         name="%(app_label)s_obx_pend_agg"),
            models.Index(fields=["aggregate_id", "id"], name="%(app_label)s_obx_aggregate"),
            models.Index(fields=["sent_at"], condition=models.Q(state=1), name="%(app_label)s_obx_sent"),
        ]
        triggers = [
            # Wakes the relay (LISTEN coko_outbox) at commit; once per statement.
            pgtrigger.Trigger(
                name="outbox_notify",
                operation=pgtrigger.Insert,
                when=pgtrigger.After,
                level=pgtrigger.Statement,
                func="PERFORM pg_notify('coko_outbox', TG_TABLE_SCHEMA); RETURN NULL;",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.id}"

    def to_event(self) -> Event:
        """This row as the envelope a handler receives."""
        return Event(id=self.event_id, type=self.type, version=self.version, occurred_at=self.occurred_at,
                     producer=self._meta.app_label, aggregate_id=self.aggregate_id, payload=self.payload,
                     trace_id=self.trace_id, trace_context=self.trace_context or {})


class InboxStatus(models.IntegerChoices):
    DONE = 0, "applied"
    DEAD = 1, "dead-lettered"


class InboxEntryBase(models.Model):
    id = models.BigAutoField(primary_key=True)
    handler = models.CharField(max_length=200)
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=120)
    producer = models.CharField(max_length=40)
    status = models.PositiveSmallIntegerField(choices=InboxStatus.choices, default=InboxStatus.DONE)
    processed_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        verbose_name = "inbox entry"
        verbose_name_plural = "inbox entries"
        constraints = [
            models.UniqueConstraint(fields=["handler", "event_id"], name="%(app_label)s_inbox_once"),
        ]
        indexes = [models.Index(fields=["processed_at"], name="%(app_label)s_inbox_at")]

    def __str__(self) -> str:
        return f"{self.handler} ← {self.event_type} {self.event_id}"


class DeadLetterBase(models.Model):
    id = models.BigAutoField(primary_key=True)
    handler = models.CharField(max_length=200)
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=120)
    producer = models.CharField(max_length=40)
    envelope = models.JSONField()
    error = models.TextField()
    attempts = models.PositiveIntegerField(default=0)
    first_failed_at = models.DateTimeField(auto_now_add=True)
    last_failed_at = models.DateTimeField(auto_now=True)
    replay_requested_at = models.DateTimeField(null=True, blank=True)
    replayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True
        verbose_name = "dead letter"
        constraints = [
            models.UniqueConstraint(fields=["handler", "event_id"], name="%(app_label)s_dead_once"),
        ]

    def __str__(self) -> str:
        return f"{self.handler} ✗ {self.event_type} {self.event_id}"
