"""Recommendations tables, all in the PostgreSQL schema ``recommendations``."""

from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase


class OutboxEvent(OutboxEventBase):
    """Events the recommendations domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the recommendations domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events a recommendations handler failed on after every retry; staff replay them."""
