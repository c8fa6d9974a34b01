"""Gamification tables, all in the PostgreSQL schema ``gamification``."""

from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase


class OutboxEvent(OutboxEventBase):
    """Events the gamification domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the gamification domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events a gamification handler failed on after every retry; staff replay them."""
