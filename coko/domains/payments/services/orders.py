"""Orders: quoted by the server, paid once, expired or cancelled when nobody pays, refunded.

The purchase saga: ``order_for_pass`` / ``order_for_book`` (quote) → a payment starts at a
provider (``payments.providers``) → ``payment_settle`` (confirmed: ledger, entitlement,
receipt and events in one transaction) — or ``payment_fail`` / ``orders_expire`` (the order
closes) — and later perhaps ``order_refund`` (ledger reversed, entitlement revoked). Each
step reads the state it finds and does nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db.models import Q

from coko.platform import clock, versioned
from coko.platform.events import publish
from coko.platform.services import use_case

from .. import contracts, errors
from ..models import Flag, Order, Payment, Plan, PlanPrice, Purchase, SellableBook, Subscription
from ..selectors import user_version
from ..values import payment_reference
from . import ledger, receipts
from ._shared import DB, announce_payment
from .passes import pass_grant, pass_revoke


def _expiry():
    return clock.now() + timedelta(seconds=settings.COKO_PAYMENTS["ORDER_TTL_S"])


# --- quoting ------------------------------------------------------------------------------------------
@use_case(DB)
def order_for_pass(*, user_id: UUID, plan_slug: str, currency: str) -> Order:
    """A pending order for one period of ``plan_slug`` at its price in ``currency``."""
    plan = Plan.objects.filter(slug=plan_slug, active=True).first()
    if plan is None:
        raise errors.PLAN_NOT_FOUND(plan=plan_slug)
    price = PlanPrice.objects.filter(plan=plan, currency=currency).first()
    if price is None:
        currencies = sorted(plan.prices.values_list("currency", flat=True))
        raise errors.PLAN_NOT_PRICED(plan=plan_slug, currency=currency, currencies=currencies)
    return Order.objects.create(user_id=user_id, kind="pass", plan=plan, amount=price.amount,
                                currency=price.currency, expires_at=_expiry())


@use_case(DB)
def order_for_book(*, user_id: UUID, book_id: UUID) -> Order:
    """A pending order for ``book_id`` at its own price, recording the catalogue version quoted."""
    book = SellableBook.objects.filter(book_id=book_id).first()
    if (book is None or book.status != "published" or book.access_model != "sale"
            or not book.price_amount or not book.price_currency):
        raise errors.BOOK_NOT_FOR_SALE(book_id=str(book_id))
    if Purchase.objects.filter(user_id=user_id, book_id=book_id, revoked_at__isnull=True).exists():
        raise errors.BOOK_ALREADY_OWNED(book_id=str(book_id))
    return Order.objects.create(user_id=user_id, kind="book", book_id=book_id, catalog_version=book.catalog_version,
                                amount=book.price_amount, currency=book.price_currency, expires_at=_expiry())


# --- settling -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Settlement:
    """What ``payment_settle`` did: ``granted`` (first time), ``already`` (a duplicate) or
    ``mismatch`` (amount or currency differ from the order: flagged, nothing granted)."""

    outcome: str
    order_id: str


@use_case(DB)
def payment_settle(*, payment_id: UUID, amount: int, currency: str, provider_ref: str = "",
                   subscription_id: str = "") -> Settlement:
    """The provider says ``payment_id`` succeeded for ``amount`` ``currency`` (its authoritative
    status, fetched again by the caller): post the ledger, grant, number the receipt, announce.
    ``subscription_id``: the Stripe subscription a card pass renews by (kept on the pass)."""
    payment = Payment.objects.select_for_update().select_related("order").get(id=payment_id)
    order = Order.objects.select_for_update().get(id=payment.order_id)
    if payment.status in ("succeeded", "refunded"):
        return Settlement("already", str(order.id))
    if amount != order.amount or currency != order.currency:
        Flag.objects.create(kind="amount_mismatch", payment=payment, provider=payment.provider, details={
            "expected": [order.amount, order.currency], "received": [amount, currency]})
        return Settlement("mismatch", str(order.id))
    if order.status == "paid":  # another payment of this order already succeeded: money taken twice
        Flag.objects.create(kind="paid_twice", payment=payment, provider=payment.provider,
                            details={"order_id": str(order.id)})
        return Settlement("mismatch", str(order.id))
    now = clock.now()
    payment.status, payment.settled_at = "succeeded", now
    payment.provider_ref = provider_ref or payment.provider_ref
    payment.save(update_fields=["status", "settled_at", "provider_ref", "updated_at"])
    if order.status in ("cancelled", "expired"):  # paid after we gave up waiting: the reader paid, honour it
        Flag.objects.create(kind="paid_after_close", payment=payment, provider=payment.provider,
                            details={"order_id": str(order.id), "status": order.status})
    order.status, order.paid_at = "paid", now
    order.save(update_fields=["status", "paid_at"])
    ledger.payment_post(payment=payment)
    if order.kind == "book":
        Purchase.objects.create(user_id=order.user_id, book_id=order.book_id, order=order)
        versioned.bump(user_version(order.user_id), using=DB)
    else:
        pass_grant(user_id=order.user_id, plan=order.plan, source="stripe" if subscription_id else "order",
                   order=order, stripe_subscription_id=subscription_id)
    receipt = receipts.receipt_issue(order=order)
    announce_payment(order, provider=payment.provider, receipt_number=receipt.number)
    return Settlement("granted", str(order.id))


@use_case(DB)
def payment_fail(*, payment_id: UUID, status: str, reason: str = "", close_order: bool = True) -> Order:
    """The provider says the payment failed, was cancelled or expired: the order closes unless
    another of its payments is still under way or succeeded (or ``close_order`` is False: the
    attempt is given up, the reader may try again)."""
    payment = Payment.objects.select_for_update().get(id=payment_id)
    if payment.status in ("pending", "processing"):
        payment.status, payment.failure = status, reason[:255]
        payment.save(update_fields=["status", "failure", "updated_at"])
    order = Order.objects.select_for_update().get(id=payment.order_id)
    live = order.payments.filter(status__in=("pending", "processing", "succeeded", "refunded")).exists()
    if close_order and order.status == "pending" and not live:
        order.status, order.closed_reason = "cancelled", f"payment_{status}"
        order.save(update_fields=["status", "closed_reason"])
    return order


def orders_due(*, limit: int = 500) -> list[UUID]:
    """The pending orders past their expiry, oldest first (``checkout.orders_expire`` closes them)."""
    return list(Order.objects.filter(status="pending", expires_at__lte=clock.now()).order_by("expires_at")
                .values_list("id", flat=True)[:limit])


@use_case(DB)
def order_expire(*, order_id: UUID, payment_ids: list) -> bool:
    """Close a pending order past its expiry, and those of its payments known to be unpayable
    now (``payment_ids``: closed at their provider, or never shown to the payer). Whether it
    closed (an order paid meanwhile stays paid). A payment that succeeds later is still
    honoured (``payment_settle`` flags it for staff)."""
    order = Order.objects.select_for_update().filter(id=order_id).first()
    if order is None or order.status != "pending" or order.expires_at > clock.now():
        return False
    Payment.objects.filter(order=order, id__in=payment_ids, status__in=("pending", "processing")).update(
        status="expired", updated_at=clock.now())
    order.status, order.closed_reason = "expired", "no_payment"
    order.save(update_fields=["status", "closed_reason"])
    return True


@use_case(DB)
def order_refund(*, order_id: UUID, reason: str, actor_id: UUID, stripe_subscription_ids: tuple = ()) -> Order:
    """Staff give the money back: the ledger is reversed and the book or pass revoked (the pass
    the order bought, and the card passes of ``stripe_subscription_ids``: a refunded renewal).
    The provider's refund call is made by the caller first (``payments.providers``)."""
    order = Order.objects.select_for_update().filter(id=order_id).first()
    if order is None:
        raise errors.ORDER_NOT_FOUND(order_id=str(order_id))
    if order.status != "paid":
        raise errors.REFUND_NOT_POSSIBLE(order_id=str(order_id), status=order.status)
    payment = Payment.objects.select_for_update().get(order=order, status="succeeded")
    payment.status = "refunded"
    payment.save(update_fields=["status", "updated_at"])
    order.status, order.closed_reason = "refunded", reason[:40]
    order.save(update_fields=["status", "closed_reason"])
    ledger.refund_post(payment=payment, reason=f"{actor_id}: {reason}")
    revoked = contracts.EntitlementRevoked(user_id=str(order.user_id), order_id=str(order.id))
    if order.kind == "book":
        Purchase.objects.filter(order=order, revoked_at__isnull=True).update(revoked_at=clock.now())
        versioned.bump(user_version(order.user_id), using=DB)
        revoked = contracts.EntitlementRevoked(user_id=str(order.user_id), order_id=str(order.id),
                                               book_id=str(order.book_id))
    else:
        named = Q(order=order) | Q(stripe_subscription_id__in=[i for i in stripe_subscription_ids if i])
        for subscription in Subscription.objects.select_for_update().filter(named).exclude(status="expired"):
            pass_revoke(subscription=subscription)
            revoked = contracts.EntitlementRevoked(user_id=str(order.user_id), order_id=str(order.id),
                                                   subscription_id=str(subscription.id))
    publish(producer=DB, type=contracts.ENTITLEMENT_REVOKED, aggregate_id=order.user_id, payload=revoked)
    return order


# --- a payment attempt ---------------------------------------------------------------------------------
@use_case(DB)
def payment_open(*, order_id: UUID, user_id: UUID, provider: str) -> Payment:
    """A pending payment of the reader's pending order with ``provider``, under a reference of
    ours, written before the provider is called: a retry finds it (Wave: search by
    ``client_reference``; Stripe: the reference is the idempotency key) instead of charging
    twice. The order's payment with this provider still under way, if there is one."""
    order = Order.objects.select_for_update().filter(id=order_id, user_id=user_id).first()
    if order is None:
        raise errors.ORDER_NOT_FOUND(order_id=str(order_id))
    if order.status != "pending" or order.expires_at <= clock.now():
        raise errors.ORDER_NOT_PAYABLE(order_id=str(order_id), status=order.status)
    started = order.payments.filter(provider=provider, status__in=("pending", "processing")).first()
    if started is not None:  # a retry: the same payment (and, once opened, the same checkout)
        return started
    return Payment.objects.create(order=order, provider=provider, reference=payment_reference(),
                                  amount=order.amount, currency=order.currency)


@use_case(DB)
def payment_opened(*, payment_id: UUID, provider_ref: str, redirect_url: str = "", secret: str = "") -> Payment:
    """What the provider answered to the creation: its id, where the payer goes, a secret to keep."""
    payment = Payment.objects.select_for_update().get(id=payment_id)
    payment.provider_ref, payment.redirect_url, payment.secret = provider_ref, redirect_url, secret
    if payment.status == "pending":
        payment.status = "processing"
    payment.save(update_fields=["provider_ref", "redirect_url", "secret", "status", "updated_at"])
    return payment
