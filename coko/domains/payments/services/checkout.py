"""Paying an order at a provider, and hearing back: the steps of the saga that call out.

None of these is a use case: each calls a provider between the use cases' transactions,
so no database transaction waits on the network. Every step can be repeated: a payment is
written (with our reference) before the provider is asked, the provider is asked in a way
that finds an earlier try (Wave's search, Stripe's idempotency key), and settling reads the
state it finds (``payment_settle``).
"""

from __future__ import annotations

import hmac
from dataclasses import replace
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.db.models import Q

from coko.platform import clock
from coko.platform.observability import get_logger
from coko.platform.services import use_case

from .. import errors, metrics, providers
from ..models import Flag, Order, Payment, ProviderEvent, Subscription
from ..providers import Inbound, ProviderStatus, Refused, Unavailable
from .orders import (
    Settlement,
    order_expire,
    order_refund,
    orders_due,
    payment_fail,
    payment_open,
    payment_opened,
    payment_settle,
)
from ._shared import DB

log = get_logger("coko.payments")


def return_urls(order: Order) -> tuple[str, str]:
    """Where the provider sends the payer back: after paying, after giving up."""
    base = f"{settings.COKO_PAYMENTS['PUBLIC_URL']}/api/v1/payment/return?order={order.id}"
    return f"{base}&outcome=success", f"{base}&outcome=cancel"


def _description(order: Order) -> str:
    if order.kind == "pass":
        return f"Coko {order.plan.names.get('fr') or order.plan.slug}"
    return f"Coko livre {str(order.book_id)[:8]}"


def payment_start(*, order_id: UUID, user_id: UUID, provider: str) -> Payment:
    """Open a payment of the reader's order with ``provider`` and get its checkout (the URL the
    payer approves at). Asked again, it answers the same payment and checkout."""
    adapter = providers.provider_for(provider)
    order = Order.objects.select_related("plan").filter(id=order_id, user_id=user_id).first()
    if order is None:
        raise errors.ORDER_NOT_FOUND(order_id=str(order_id))
    if order.currency not in adapter.currencies:
        raise errors.PROVIDER_CURRENCY(provider=provider, currency=order.currency)
    payment = payment_open(order_id=order.id, user_id=user_id, provider=provider)
    if payment.provider_ref:
        return payment
    success, cancel = return_urls(order)
    extra = {"period": order.plan.period} if provider == "stripe" and order.kind == "pass" else {}
    try:
        checkout = adapter.checkout(reference=payment.reference, amount=order.amount, currency=order.currency,
                                    description=_description(order), return_url=success, cancel_url=cancel, **extra)
    except Unavailable as exc:
        log.warning("payment provider unavailable", provider=provider, payment_id=str(payment.id), error=str(exc))
        if not adapter.retry_finds_checkout:  # a retry cannot find this try: it starts a new payment
            payment_fail(payment_id=payment.id, status="canceled", reason="provider_unavailable", close_order=False)
        raise errors.PROVIDER_UNAVAILABLE(provider=provider) from exc
    except Refused as exc:
        log.warning("payment refused by provider", provider=provider, payment_id=str(payment.id), error=str(exc))
        payment_fail(payment_id=payment.id, status="failed", reason=str(exc))
        raise errors.PAYMENT_REFUSED(provider=provider) from exc
    opened = payment_opened(payment_id=payment.id, provider_ref=checkout.provider_ref,
                            redirect_url=checkout.redirect_url, secret=checkout.secret)
    metrics.STARTED.labels(provider).inc()
    return opened


def payment_confirm(*, payment_id: UUID) -> Settlement | None:
    """Ask the provider how ``payment_id`` stands and act on its answer: settle, fail, or wait
    (None). What a webhook claims is never taken as true without this. A payment we had given up
    on (failed, expired) that the provider says succeeded is still settled: the payer paid."""
    payment = Payment.objects.select_related("order").get(id=payment_id)
    if payment.status in ("succeeded", "refunded"):
        _events_processed(payment_id=payment.id, outcome="already")
        return None
    adapter = providers.provider_for(payment.provider)
    try:
        status = _status(adapter, payment)
    except Refused as exc:  # the provider does not know this payment as we do (Orange: another amount)
        log.warning("payment status refused", provider=payment.provider, payment_id=str(payment.id), error=str(exc))
        _flag(payment_id=payment.id, kind="status_refused", details={"error": str(exc)[:500]})
        _events_processed(payment_id=payment.id, outcome="status_refused")
        return None
    if status.state == "succeeded":
        settled = payment_settle(payment_id=payment.id, amount=status.amount if status.amount is not None
                                 else payment.amount, currency=status.currency or payment.currency,
                                 provider_ref=status.provider_ref, subscription_id=status.subscription_id)
        _events_processed(payment_id=payment.id, outcome=settled.outcome)
        if settled.outcome == "granted":
            metrics.SUCCEEDED.labels(payment.provider).inc()
            metrics.CONFIRMATION.labels(payment.provider).observe(
                max(0.0, (clock.now() - payment.created_at).total_seconds()))
        return settled
    if status.state in ("failed", "expired", "canceled"):
        if payment.status in ("pending", "processing"):
            metrics.FAILED.labels(payment.provider).inc()
        payment_fail(payment_id=payment.id, status=status.state, reason=status.failure)
        _events_processed(payment_id=payment.id, outcome=status.state)
    return None


def _status(adapter, payment: Payment) -> ProviderStatus:
    """The provider's status; a declined attempt whose checkout is still open is closed there
    first (so that it cannot be paid after we cancel the order), then asked again."""
    status = _fetch(adapter, payment)
    if status.state != "declined":
        return status
    return _close_then_ask(adapter, payment, otherwise=replace(status, state="failed"))


def _fetch(adapter, payment: Payment) -> ProviderStatus:
    return adapter.status(reference=payment.reference, provider_ref=payment.provider_ref,
                          amount=payment.amount, currency=payment.currency)


def _close_then_ask(adapter, payment: Payment, *, otherwise: ProviderStatus) -> ProviderStatus:
    """Close the payment's checkout at the provider (where it offers that), then ask how it
    stands: paid at the last second, the answer says so; else ``otherwise``. A checkout no longer
    open (paid, expired) is no error: the question that follows says which."""
    try:
        adapter.close(provider_ref=payment.provider_ref)
    except Refused:
        pass
    again = _fetch(adapter, payment)
    return again if again.state == "succeeded" else otherwise


def payment_declined(*, payment_id: UUID, failure: str) -> str:
    """The provider told us (in an event checked against its own copy) that the payer's attempt
    was declined while the checkout stays open for another try (a card pass's first invoice):
    close the checkout and ask again. Paid meanwhile: settled (``granted``); else the payment
    fails and the order closes now (``failed``), not at its expiry."""
    payment = Payment.objects.filter(id=payment_id).first()
    if payment is None or payment.status not in ("pending", "processing"):
        return "already"
    adapter = providers.provider_for(payment.provider)
    status = _close_then_ask(adapter, payment, otherwise=ProviderStatus(state="failed", failure=failure))
    if status.state == "succeeded":
        settled = payment_confirm(payment_id=payment.id)
        return settled.outcome if settled else "waiting"
    metrics.FAILED.labels(payment.provider).inc()
    payment_fail(payment_id=payment.id, status="failed", reason=failure)
    _events_processed(payment_id=payment.id, outcome="failed")
    return "failed"


def orders_expire(*, limit: int = 500) -> int:
    """The scheduled job: close the pending orders past their expiry; how many closed. Each of
    their payments shown to the payer is closed at its provider first (Wave's expire, Stripe's;
    Orange's page expires by itself) and asked about once more: one paid at the last second is
    settled, not lost, and its order stays paid. A provider that does not answer leaves that
    payment under way (the poll keeps asking; a late success is honoured and flagged)."""
    closed = 0
    for order_id in orders_due(limit=limit):
        unpayable = []
        for payment in Payment.objects.filter(order_id=order_id, status__in=("pending", "processing")):
            if not payment.provider_ref:  # never shown to the payer: nobody can pay it
                unpayable.append(payment.id)
            elif _closed_at_provider(payment):
                unpayable.append(payment.id)
        closed += order_expire(order_id=order_id, payment_ids=unpayable)
    return closed


def _closed_at_provider(payment: Payment) -> bool:
    """Close ``payment``'s checkout and ask once more: whether it is now known unpaid (a success
    found is settled here)."""
    try:
        adapter = providers.provider_for(payment.provider)
        status = _close_then_ask(adapter, payment, otherwise=ProviderStatus(state="expired"))
    except Unavailable as exc:
        log.warning("provider unavailable at expiry", provider=payment.provider, payment_id=str(payment.id),
                    error=str(exc))
        return False
    except Refused as exc:  # the status call refused (Orange: another amount): staff look at it
        _flag(payment_id=payment.id, kind="status_refused", details={"error": str(exc)[:500]})
        return False
    if status.state == "succeeded":
        payment_confirm(payment_id=payment.id)
        return False
    return True


@use_case(DB)
def _flag(*, payment_id: UUID, kind: str, details: dict) -> None:
    payment = Payment.objects.get(id=payment_id)
    Flag.objects.create(kind=kind, payment=payment, provider=payment.provider, details=details)


@use_case(DB)
def _events_processed(*, payment_id: UUID, outcome: str) -> None:
    ProviderEvent.objects.filter(payment_id=payment_id, processed_at__isnull=True).update(
        processed_at=clock.now(), outcome=outcome[:40])


# --- webhooks -----------------------------------------------------------------------------------------
def webhook_receive(*, provider: str, headers: dict[str, str], body: bytes,
                    query: dict[str, str]) -> tuple[str, UUID | None]:
    """Verify a provider's webhook and keep it once: ``("stored" | "duplicate" | "ignored", payment
    id or None)``. Raises ``webhook_rejected`` (nothing kept) when it cannot be trusted.
    Processing (a status fetch, then settling) happens after, in the worker (``tasks``)."""
    try:
        try:
            adapter = providers.provider_for(provider)
            inbound = adapter.verify(headers=headers, body=body, query=query)
        except providers.Rejected as exc:
            raise errors.WEBHOOK_REJECTED(reason=exc.reason) from exc
        except Exception as exc:
            if errors.PROVIDER_NOT_CONFIGURED.matches(exc):
                raise errors.WEBHOOK_REJECTED(reason="provider_not_configured") from exc
            raise
        if inbound.kind == "ignored":  # verified, about nothing we act on: acknowledged, not kept
            return "ignored", None
        outcome, payment_id, event_row = _event_keep(provider=provider, inbound=inbound)
    except Exception as exc:
        if errors.WEBHOOK_REJECTED.matches(exc):
            metrics.WEBHOOKS_REJECTED.labels(provider, exc.details.get("reason", "")).inc()
        raise
    if outcome == "stored":  # lost if this process dies now: payments_poll finds the event unprocessed
        if payment_id is not None:
            confirm_enqueue(payment_id=payment_id)
        else:
            event_enqueue(event_id=event_row)
    return outcome, payment_id


@use_case(DB)
def _event_keep(*, provider: str, inbound: Inbound) -> tuple[str, UUID | None, int]:
    """The event, once per provider event id, tied to the payment it names (which must exist;
    Orange's token must be the one it gave us for that payment). A card pass's renewal, failure
    or end names its Stripe subscription instead (``renewals``)."""
    payment = None
    if inbound.kind == "payment":
        if inbound.reference:
            payment = Payment.objects.filter(provider=provider, reference=inbound.reference).first()
        if payment is None and inbound.provider_ref:
            payment = Payment.objects.filter(provider=provider, provider_ref=inbound.provider_ref).first()
        if payment is None:
            raise errors.WEBHOOK_REJECTED(reason="payment_unknown")
        if inbound.token and not hmac.compare_digest(inbound.token.encode(), (payment.secret or "").encode()):
            raise errors.WEBHOOK_REJECTED(reason="token_mismatch")
    kept, created = ProviderEvent.objects.get_or_create(
        provider=provider, event_id=inbound.event_id[:255],
        defaults={"event_type": inbound.event_type[:80], "payment": payment, "body": inbound.body})
    return ("stored" if created else "duplicate"), (payment.id if payment else None), kept.id


# --- the worker's side ----------------------------------------------------------------------------------
CONFIRM_ACTOR, EVENT_ACTOR, QUEUE_NAME = "payments.confirm", "payments.provider_event", "payments"


def _enqueue(actor: str, arg: str, delay_ms: int | None = None) -> None:
    import dramatiq

    dramatiq.get_broker().enqueue(dramatiq.Message(queue_name=QUEUE_NAME, actor_name=actor,
                                                   args=(arg,), kwargs={}, options={}), delay=delay_ms)


def confirm_enqueue(*, payment_id: UUID, delay_ms: int | None = None) -> None:
    """Ask the worker to run ``payment_confirm`` for ``payment_id`` (after what enqueued it committed)."""
    _enqueue(CONFIRM_ACTOR, str(payment_id), delay_ms)


def event_enqueue(*, event_id: int, delay_ms: int | None = None) -> None:
    """Ask the worker to process a stored event about a card pass (``renewals.provider_event_process``)."""
    _enqueue(EVENT_ACTOR, str(event_id), delay_ms)


def payments_poll(*, older_than_s: int = 60, limit: int = 200) -> int:
    """The job that covers webhooks that never came or were never processed: ask the worker to
    confirm each payment still under way for more than ``older_than_s`` seconds, or with a
    stored event not yet processed, and to process each stored card-pass event left unprocessed.
    Returns how many were asked about."""
    cutoff = clock.now() - timedelta(seconds=older_than_s)
    due = list(Payment.objects.filter(Q(status__in=("pending", "processing"), updated_at__lte=cutoff)
                                      | Q(events__processed_at__isnull=True, events__received_at__lte=cutoff))
               .exclude(provider_ref="", status="pending")
               .values_list("id", flat=True).distinct()[:limit])
    for payment_id in due:
        confirm_enqueue(payment_id=payment_id)
    events = list(ProviderEvent.objects.filter(payment__isnull=True, processed_at__isnull=True,
                                               received_at__lte=cutoff).values_list("id", flat=True)[:limit])
    for event_id in events:
        event_enqueue(event_id=event_id)
    return len(due) + len(events)


def order_refund_with_provider(*, order_id: UUID, reason: str, actor_id: UUID) -> Order:
    """Staff refund: a card pass's subscription is ended at Stripe first (no renewal is charged
    after the refund), the provider gives the money back (where it has a refund call), then the
    ledger is reversed and the entitlement revoked (``order_refund``). A provider that has no
    refund call (Orange Money Web Payment) is refunded by staff in its portal: the ledger still
    records it, and the audit says so. Asked again after a failure, each step finds its work
    done (Stripe's idempotency keys; an ended subscription)."""
    order = Order.objects.filter(id=order_id).first()
    if order is None:
        raise errors.ORDER_NOT_FOUND(order_id=str(order_id))
    if order.status != "paid":
        raise errors.REFUND_NOT_POSSIBLE(order_id=str(order_id), status=order.status)
    payment = Payment.objects.get(order=order, status="succeeded")
    adapter = providers.provider_for(payment.provider)
    card_passes = _card_passes_of(order, payment, adapter) if order.kind == "pass" else ()
    try:
        for subscription_id in card_passes:
            try:
                adapter.subscription_end(subscription_id=subscription_id)
            except Refused:  # already ended at Stripe
                pass
        adapter.refund(provider_ref=payment.provider_ref, amount=payment.amount, currency=payment.currency,
                       reference=payment.reference)
        where = "provider"
    except Refused as exc:
        log.warning("provider refund refused; refund by hand", provider=payment.provider, error=str(exc))
        where = "by_hand"
    except Unavailable as exc:
        raise errors.PROVIDER_UNAVAILABLE(provider=payment.provider) from exc
    log.info("order refunded", order_id=str(order_id), actor_id=str(actor_id), reason=reason, where=where,
             subscriptions_ended=list(card_passes))
    return order_refund(order_id=order_id, reason=reason, actor_id=actor_id, stripe_subscription_ids=card_passes)


def _card_passes_of(order: Order, payment: Payment, adapter) -> tuple[str, ...]:
    """The Stripe subscriptions a pass order paid for: the one its checkout started, or, for a
    renewal (its payment's reference is the invoice id), the invoice's."""
    ids = set(Subscription.objects.filter(order=order).exclude(stripe_subscription_id="")
              .values_list("stripe_subscription_id", flat=True))
    if payment.provider == "stripe" and payment.reference.startswith("in_"):
        try:
            invoice = adapter.invoice(invoice_id=payment.reference)
        except Unavailable as exc:
            raise errors.PROVIDER_UNAVAILABLE(provider=payment.provider) from exc
        ids.add(((invoice.get("parent") or {}).get("subscription_details") or {}).get("subscription") or "")
    return tuple(sorted(i for i in ids if i))
