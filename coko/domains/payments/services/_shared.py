"""What the payments use cases share: the alias, the payloads built in one place."""

from __future__ import annotations

from coko.platform.events import publish

from .. import contracts
from ..models import Order, Subscription

DB = "payments"


def announce_subscription(subscription: Subscription) -> None:
    """``subscription.activated`` of ``subscription``; inside the caller's transaction."""
    publish(producer=DB, type=contracts.SUBSCRIPTION_ACTIVATED, aggregate_id=subscription.user_id,
            payload=contracts.SubscriptionActivated(
                subscription_id=str(subscription.id), user_id=str(subscription.user_id),
                plan_slug=subscription.plan.slug, scope=subscription.plan.scope,
                ends_at=subscription.ends_at, source=subscription.source))


def announce_payment(order: Order, *, provider: str) -> None:
    """``payment.completed`` (and ``book.purchased`` for a book) of a paid ``order``."""
    publish(producer=DB, type=contracts.PAYMENT_COMPLETED, aggregate_id=order.user_id,
            payload=contracts.PaymentCompleted(order_id=str(order.id), user_id=str(order.user_id), kind=order.kind,
                                               provider=provider, amount=order.amount, currency=order.currency))
    if order.kind == "book":
        publish(producer=DB, type=contracts.BOOK_PURCHASED, aggregate_id=order.user_id,
                payload=contracts.BookPurchased(order_id=str(order.id), user_id=str(order.user_id),
                                                book_id=str(order.book_id), amount=order.amount,
                                                currency=order.currency))
