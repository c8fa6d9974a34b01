"""Dramatiq actors of the payments domain (a thin edge over ``services``)."""

from __future__ import annotations

import dramatiq

from . import services


@dramatiq.actor(actor_name=services.CONFIRM_ACTOR, queue_name=services.QUEUE_NAME,
                max_retries=20, min_backoff=2000, max_backoff=10 * 60 * 1000, time_limit=2 * 60 * 1000)
def payment_confirm(payment_id: str) -> None:
    """A provider said something about ``payment_id``: ask it how the payment stands, and act."""
    services.payment_confirm(payment_id=payment_id)


@dramatiq.actor(actor_name=services.EVENT_ACTOR, queue_name=services.QUEUE_NAME,
                max_retries=20, min_backoff=2000, max_backoff=10 * 60 * 1000, time_limit=2 * 60 * 1000)
def provider_event(event_id: str) -> None:
    """A stored event about a card pass (a renewal, its failure, its end): check it and apply it."""
    services.provider_event_process(event_id=int(event_id))
