"""Reading tables, all in the PostgreSQL schema ``reading``."""

from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase


class OutboxEvent(OutboxEventBase):
    """Events the reading domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the reading domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events a reading handler failed on after every retry; staff replay them."""
