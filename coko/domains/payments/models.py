"""Payments tables, all in the PostgreSQL schema ``payments``."""

from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase


class OutboxEvent(OutboxEventBase):
    """Events the payments domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the payments domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events a payments handler failed on after every retry; staff replay them."""
