"""Dramatiq actors of the notifications domain (a thin edge over ``services``)."""

from __future__ import annotations

import dramatiq

from . import services


@dramatiq.actor(actor_name=services.ACTOR_NAME, queue_name=services.QUEUE_NAME,
                # Provider failures are retried by the actor itself (per-channel backoff,
                # each attempt recorded); dramatiq's retries only cover outages.
                max_retries=10_000, min_backoff=1000, max_backoff=15 * 60 * 1000,
                time_limit=5 * 60 * 1000)
def notification_deliver(delivery_id: int) -> None:
    result = services.delivery_attempt(delivery_id=delivery_id)
    if result is not None and result.retry_in_ms is not None:
        notification_deliver.send_with_options(args=(delivery_id,), delay=result.retry_in_ms)
