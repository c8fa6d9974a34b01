"""Catalog tables, all in the PostgreSQL schema ``catalog``."""

from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase


class OutboxEvent(OutboxEventBase):
    """Events the catalog domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the catalog domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events a catalog handler failed on after every retry; staff replay them."""
