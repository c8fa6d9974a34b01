"""Passes: granted when paid or redeemed, stacked end to end, cancelled, reminded, lapsed.

Life of a pass: ``active`` from ``starts_at`` to ``ends_at``; a card subscription that does
not renew on time goes to ``grace`` (still readable, ``COKO_PAYMENTS["GRACE_S"]``) and then
``expired``; a prepaid pass (mobile money, a code) does not renew by itself: its reader is
reminded before it ends, and it expires at ``ends_at``. A cancelled pass stays readable to
the end of its period.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db.models import Max

from coko.platform import clock, versioned
from coko.platform.events import publish
from coko.platform.services import use_case

from .. import contracts, errors
from ..models import Order, Plan, Subscription
from ..selectors import LIVE, user_version
from ..values import period_end
from ._shared import DB, announce_subscription

def pass_grant(*, user_id: UUID, plan: Plan, source: str, order: Order | None = None,
               stripe_subscription_id: str = "") -> Subscription:
    """One period of ``plan`` for ``user_id``, starting when their live passes of the same
    scope end (stacking), or now. Inside the caller's transaction; announces it."""
    now = clock.now()
    latest = (Subscription.objects.filter(user_id=user_id, status__in=LIVE, plan__scope=plan.scope,
                                          plan__collection_slug=plan.collection_slug, ends_at__gt=now)
              .aggregate(end=Max("ends_at"))["end"])
    starts = max(now, latest) if latest else now
    subscription = Subscription.objects.create(
        user_id=user_id, plan=plan, status="active", source=source, order=order,
        starts_at=starts, ends_at=period_end(start=starts, period=plan.period),
        stripe_subscription_id=stripe_subscription_id)
    announce_subscription(subscription)
    versioned.bump(user_version(user_id), using=DB)
    return subscription


def pass_revoke(*, subscription: Subscription) -> None:
    """End ``subscription`` now (a refund); inside the caller's transaction."""
    subscription.status, subscription.ends_at, subscription.grace_until = "expired", clock.now(), None
    subscription.save(update_fields=["status", "ends_at", "grace_until", "updated_at"])
    versioned.bump(user_version(subscription.user_id), using=DB)


@use_case(DB)
def subscription_cancel(*, user_id: UUID) -> list[Subscription]:
    """The reader stops renewing: their live passes stay readable to the end of their period
    (a card subscription's renewal is cancelled at Stripe by the caller)."""
    live = list(Subscription.objects.select_for_update().filter(user_id=user_id, status="active",
                                                                ends_at__gt=clock.now()))
    if not live:
        raise errors.NO_SUBSCRIPTION()
    for subscription in live:
        subscription.status, subscription.cancelled_at = "cancelled", clock.now()
        subscription.save(update_fields=["status", "cancelled_at", "updated_at"])
    return live


@use_case(DB)
def subscriptions_lapse(*, limit: int = 500) -> dict[str, int]:
    """The scheduled job: remind prepaid passes about to end, move card subscriptions past their
    period to grace, expire what is over. Returns the counts of each."""
    now = clock.now()
    counts = {"reminded": 0, "grace": 0, "expired": 0}
    soon = now + timedelta(seconds=settings.COKO_PAYMENTS["REMINDER_BEFORE_S"])
    for subscription in (Subscription.objects.select_for_update(skip_locked=True).select_related("plan")
                         .filter(status="active", reminded_at__isnull=True, ends_at__gt=now, ends_at__lte=soon)
                         .exclude(source="stripe").exclude(plan__period="day")[:limit]):
        subscription.reminded_at = now
        subscription.save(update_fields=["reminded_at", "updated_at"])
        publish(producer=DB, type=contracts.SUBSCRIPTION_EXPIRING, aggregate_id=subscription.user_id,
                payload=contracts.SubscriptionExpiring(
                    subscription_id=str(subscription.id), user_id=str(subscription.user_id),
                    plan_slug=subscription.plan.slug, ends_at=subscription.ends_at))
        counts["reminded"] += 1
    grace = timedelta(seconds=settings.COKO_PAYMENTS["GRACE_S"])
    for subscription in (Subscription.objects.select_for_update(skip_locked=True).select_related("plan")
                         .filter(status__in=LIVE, ends_at__lte=now)
                         .exclude(status="grace", grace_until__gt=now)[:limit]):
        if subscription.status == "active" and subscription.source == "stripe" and grace:
            subscription.status, subscription.grace_until = "grace", subscription.ends_at + grace
            subscription.save(update_fields=["status", "grace_until", "updated_at"])
            counts["grace"] += 1
            continue
        subscription.status = "expired"
        subscription.save(update_fields=["status", "updated_at"])
        publish(producer=DB, type=contracts.SUBSCRIPTION_EXPIRED, aggregate_id=subscription.user_id,
                payload=contracts.SubscriptionExpired(subscription_id=str(subscription.id),
                                                      user_id=str(subscription.user_id),
                                                      plan_slug=subscription.plan.slug))
        counts["expired"] += 1
    return counts
