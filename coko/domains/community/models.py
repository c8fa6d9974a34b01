"""Community tables, all in the PostgreSQL schema ``community``."""

from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase


class OutboxEvent(OutboxEventBase):
    """Events the community domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the community domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events a community handler failed on after every retry; staff replay them."""
