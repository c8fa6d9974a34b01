"""What the payments use cases share: the alias, the payloads built in one place."""

from __future__ import annotations

from coko.platform.events import publish

from .. import contracts
from ..models import Order, SellableBook, Subscription

DB = "payments"


def announce_subscription(subscription: Subscription) -> None:
    """``subscription.activated`` of ``subscription``; inside the caller's transaction."""
    publish(producer=DB, type=contracts.SUBSCRIPTION_ACTIVATED, aggregate_id=subscription.user_id,
            payload=contracts.SubscriptionActivated(
                subscription_id=str(subscription.id), user_id=str(subscription.user_id),
                plan_slug=subscription.plan.slug, scope=subscription.plan.scope,
                ends_at=subscription.ends_at, source=subscription.source))


def item_names(order: Order) -> tuple[str, str]:
    """What ``order`` buys, in French and English: the pass's name, or the book's title."""
    if order.kind == "pass":
        return (order.plan.names.get("fr") or order.plan.slug), (order.plan.names.get("en") or order.plan.slug)
    book = SellableBook.objects.filter(book_id=order.book_id).values_list("title", flat=True).first() or ""
    return book, book


def announce_payment(order: Order, *, provider: str, receipt_number: str) -> None:
    """``payment.completed`` (and ``book.purchased`` for a book) of a paid ``order``."""
    item_fr, item_en = item_names(order)
    publish(producer=DB, type=contracts.PAYMENT_COMPLETED, aggregate_id=order.user_id,
            payload=contracts.PaymentCompleted(order_id=str(order.id), user_id=str(order.user_id), kind=order.kind,
                                               provider=provider, amount=order.amount, currency=order.currency,
                                               receipt_number=receipt_number, item_fr=item_fr, item_en=item_en))
    if order.kind == "book":
        publish(producer=DB, type=contracts.BOOK_PURCHASED, aggregate_id=order.user_id,
                payload=contracts.BookPurchased(order_id=str(order.id), user_id=str(order.user_id),
                                                book_id=str(order.book_id), amount=order.amount,
                                                currency=order.currency))
