"""A card pass after its first payment: Stripe renews it every period, may fail to, and ends it.

The webhook keeps the event (``checkout.webhook_receive``); the worker processes it here
(``provider_event_process``): what the event says is checked against Stripe's own copy of the
invoice or subscription, then one use case applies it.

- ``invoice.paid`` for a renewal (``billing_reason`` other than ``subscription_create``, which
  the checkout already settled) → ``pass_renew``: a paid order and payment for the period (the
  ledger, a receipt, ``payment.completed``), the pass extended to the period's end. Once per
  invoice: the renewal's payment has the invoice id for reference (unique).
- ``invoice.payment_failed`` → ``pass_grace``: still readable ``COKO_PAYMENTS["GRACE_S"]``; for
  the first invoice (the card declined on the pass's checkout, which stays open),
  ``checkout.payment_declined``: the checkout is closed and the order with it.
- ``customer.subscription.deleted`` → ``pass_ended``: cancelled, readable to the period's end.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.conf import settings

from coko.platform import clock
from coko.platform.services import use_case

from .. import errors, providers
from ..models import Flag, Order, Payment, ProviderEvent, Subscription
from . import ledger, receipts
from ._shared import DB, announce_payment, announce_subscription
from .checkout import payment_declined
from .passes import LIVE


def provider_event_process(*, event_id: int) -> str:
    """Apply a stored event about a card pass; its outcome (also kept on the event). An event
    about a subscription not settled here yet is left for a later try (``waiting``)."""
    event = ProviderEvent.objects.filter(id=event_id).first()
    if event is None or event.processed_at is not None:
        return "already"
    adapter = providers.provider_for(event.provider)
    obj = event.body.get("data", {}).get("object", {})
    if event.event_type.startswith("invoice."):
        invoice = adapter.invoice(invoice_id=obj["id"])
        subscription_id = invoice["parent"]["subscription_details"]["subscription"]
        if invoice.get("billing_reason") == "subscription_create":
            if event.event_type == "invoice.payment_failed" and invoice["status"] != "paid":
                outcome = _first_payment_declined(adapter, invoice)  # the checkout stays open: close it
            else:
                outcome = "first_period"  # granted by the checkout's settlement
        elif not Subscription.objects.filter(stripe_subscription_id=subscription_id).exists():
            return "waiting"  # its checkout is not settled yet: the poll brings it back
        elif event.event_type == "invoice.paid" and invoice["status"] == "paid":
            period_end = max(line["period"]["end"] for line in invoice["lines"]["data"])
            intent = next((p["payment"].get("payment_intent") for p in invoice["payments"]["data"]), "") or ""
            outcome = pass_renew(subscription_id=subscription_id, invoice_id=invoice["id"],
                                 amount=invoice["amount_paid"], currency=invoice["currency"].upper(),
                                 period_end=datetime.fromtimestamp(period_end, UTC), provider_ref=intent)
        elif event.event_type == "invoice.payment_failed" and invoice["status"] != "paid":
            outcome = pass_grace(subscription_id=subscription_id)
        else:
            outcome = "ignored"
    else:
        subscription = adapter.subscription(subscription_id=obj["id"])
        if not Subscription.objects.filter(stripe_subscription_id=subscription["id"]).exists():
            return "waiting"
        outcome = pass_ended(subscription_id=subscription["id"]) if subscription["status"] == "canceled" else "ignored"
    _processed(event_id=event.id, outcome=outcome)
    return outcome


def _first_payment_declined(adapter, invoice: dict) -> str:
    """The card was declined on a card pass's checkout (its first invoice failed; Stripe keeps the
    session open for another card): the order closes now, unless it was paid meanwhile."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    reference = (details.get("metadata") or {}).get("reference", "")
    payment = Payment.objects.filter(provider="stripe", reference=reference).first() if reference else None
    if payment is None:
        return "ignored"
    intent = next((p["payment"].get("payment_intent") for p in invoice["payments"]["data"]), "") or ""
    failure = adapter.payment_failure(intent_id=intent) if intent else ""
    return payment_declined(payment_id=payment.id, failure=failure or "card_declined")


@use_case(DB)
def _processed(*, event_id: int, outcome: str) -> None:
    ProviderEvent.objects.filter(id=event_id, processed_at__isnull=True).update(processed_at=clock.now(),
                                                                              outcome=outcome[:40])


def _locked(subscription_id: str) -> Subscription | None:
    return (Subscription.objects.select_for_update(of=("self",)).select_related("plan", "order")
            .filter(stripe_subscription_id=subscription_id).order_by("-created_at").first())


@use_case(DB)
def pass_renew(*, subscription_id: str, invoice_id: str, amount: int, currency: str, period_end: datetime,
               provider_ref: str = "") -> str:
    """Stripe charged the card for a new period of the pass: ``granted`` (once per invoice),
    ``already``, or ``mismatch`` (not the pass's price: flagged, not extended)."""
    subscription = _locked(subscription_id)
    if Payment.objects.filter(provider="stripe", reference=invoice_id[:30]).exists():
        return "already"
    first = subscription.order
    if first is not None and (amount, currency) != (first.amount, first.currency):
        Flag.objects.create(kind="amount_mismatch", provider="stripe", details={
            "invoice": invoice_id, "expected": [first.amount, first.currency], "received": [amount, currency]})
        return "mismatch"
    now = clock.now()
    order = Order.objects.create(user_id=subscription.user_id, kind="pass", plan=subscription.plan, amount=amount,
                                 currency=currency, status="paid", paid_at=now, expires_at=now)
    payment = Payment.objects.create(order=order, provider="stripe", reference=invoice_id[:30],
                                     provider_ref=provider_ref or invoice_id, status="succeeded", amount=amount,
                                     currency=currency, settled_at=now)
    ledger.payment_post(payment=payment)
    subscription.status, subscription.grace_until = "active", None
    subscription.ends_at = max(subscription.ends_at, period_end)
    subscription.save(update_fields=["status", "grace_until", "ends_at", "updated_at"])
    receipt = receipts.receipt_issue(order=order)
    announce_payment(order, provider="stripe", receipt_number=receipt.number)
    announce_subscription(subscription)
    return "granted"


@use_case(DB)
def pass_grace(*, subscription_id: str) -> str:
    """A renewal failed: the pass stays readable ``GRACE_S`` past the end of its period (or now)."""
    subscription = _locked(subscription_id)
    if subscription.status not in LIVE:
        return "ignored"
    grace = timedelta(seconds=settings.COKO_PAYMENTS["GRACE_S"])
    subscription.status = "grace"
    subscription.grace_until = max(subscription.ends_at, clock.now()) + grace
    subscription.save(update_fields=["status", "grace_until", "updated_at"])
    return "grace"


@use_case(DB)
def pass_ended(*, subscription_id: str) -> str:
    """Stripe ended the subscription: no more renewals; readable to the end of the period paid."""
    subscription = _locked(subscription_id)
    if subscription.status in ("expired",):
        return "ignored"
    subscription.status, subscription.grace_until = "cancelled", None
    subscription.cancelled_at = subscription.cancelled_at or clock.now()
    subscription.save(update_fields=["status", "grace_until", "cancelled_at", "updated_at"])
    return "cancelled"


def subscription_cancel_with_provider(*, user_id: UUID) -> list[Subscription]:
    """The reader stops their pass renewing: a card pass is told to Stripe first
    (``cancel_at_period_end``), then every live pass is cancelled to the end of its period."""
    from .passes import subscription_cancel

    card = (Subscription.objects.filter(user_id=user_id, status="active", ends_at__gt=clock.now())
            .exclude(stripe_subscription_id="").values_list("stripe_subscription_id", flat=True))
    for stripe_id in set(card):
        try:
            providers.provider_for("stripe").subscription_cancel(subscription_id=stripe_id)
        except providers.Unavailable as exc:
            raise errors.PROVIDER_UNAVAILABLE(provider="stripe") from exc
    return subscription_cancel(user_id=user_id)
