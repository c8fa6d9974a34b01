"""Accounts tables, all in the PostgreSQL schema ``accounts``."""

from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase


class OutboxEvent(OutboxEventBase):
    """Events the accounts domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the accounts domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events a accounts handler failed on after every retry; staff replay them."""
