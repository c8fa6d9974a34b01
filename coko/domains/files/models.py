"""Files tables, all in the PostgreSQL schema ``files``."""

from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase


class OutboxEvent(OutboxEventBase):
    """Events the files domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the files domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events a files handler failed on after every retry; staff replay them."""
