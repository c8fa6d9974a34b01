"""Dramatiq actors of the payments domain (a thin edge over ``services``)."""

from __future__ import annotations

import dramatiq

from coko.platform.scheduling import scheduled

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


# --- scheduled jobs (timed by the relays' clock, run by any worker) ----------------------------------
@scheduled("payments.orders_expire", every_s=60)
def orders_expire() -> None:
    """Close the orders nobody paid in time."""
    services.orders_expire()


@scheduled("payments.payments_poll", every_s=60)
def payments_poll() -> None:
    """Ask the providers about payments whose webhook never came (or was never processed)."""
    services.payments_poll()


@scheduled("payments.subscriptions_lapse", every_s=300)
def subscriptions_lapse() -> None:
    """Remind, move to grace, expire: the passes' calendar."""
    services.subscriptions_lapse()
