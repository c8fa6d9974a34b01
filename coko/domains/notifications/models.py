"""Notifications tables, all in the PostgreSQL schema ``notifications``."""

from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase


class OutboxEvent(OutboxEventBase):
    """Events the notifications domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the notifications domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events a notifications handler failed on after every retry; staff replay them."""
