"""Publishing tables, all in the PostgreSQL schema ``publishing``."""

from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase


class OutboxEvent(OutboxEventBase):
    """Events the publishing domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the publishing domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events a publishing handler failed on after every retry; staff replay them."""
