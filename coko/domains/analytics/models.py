"""Analytics tables, all in the PostgreSQL schema ``analytics``."""

from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase


class OutboxEvent(OutboxEventBase):
    """Events the analytics domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the analytics domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events a analytics handler failed on after every retry; staff replay them."""
