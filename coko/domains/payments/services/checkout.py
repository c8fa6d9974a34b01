"""Paying an order at a provider, and hearing back: the steps of the saga that call out.

None of these is a use case: each calls a provider between the use cases' transactions,
so no database transaction waits on the network. Every step can be repeated: a payment is
written (with our reference) before the provider is asked, the provider is asked in a way
that finds an earlier try (Wave's search, Stripe's idempotency key), and settling reads the
state it finds (``payment_settle``).
"""

from __future__ import annotations

import hmac
from uuid import UUID

from django.conf import settings

from coko.platform import clock
from coko.platform.observability import get_logger
from coko.platform.services import use_case

from .. import errors, providers
from ..models import Order, Payment, ProviderEvent
from ..providers import Inbound, Refused, Unavailable
from .orders import Settlement, order_refund, payment_fail, payment_open, payment_opened, payment_settle
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
        raise errors.PROVIDER_UNAVAILABLE(provider=provider) from exc
    except Refused as exc:
        log.warning("payment refused by provider", provider=provider, payment_id=str(payment.id), error=str(exc))
        payment_fail(payment_id=payment.id, status="failed", reason=str(exc))
        raise errors.PAYMENT_REFUSED(provider=provider) from exc
    return payment_opened(payment_id=payment.id, provider_ref=checkout.provider_ref,
                          redirect_url=checkout.redirect_url, secret=checkout.secret)


def payment_confirm(*, payment_id: UUID) -> Settlement | None:
    """Ask the provider how ``payment_id`` stands and act on its answer: settle, fail, or wait
    (None). What a webhook claims is never taken as true without this."""
    payment = Payment.objects.select_related("order").get(id=payment_id)
    if payment.status not in ("pending", "processing"):
        _events_processed(payment_id=payment.id, outcome="already")
        return None
    adapter = providers.provider_for(payment.provider)
    status = adapter.status(reference=payment.reference, provider_ref=payment.provider_ref,
                            amount=payment.amount, currency=payment.currency)
    if status.state == "succeeded":
        settled = payment_settle(payment_id=payment.id, amount=status.amount if status.amount is not None
                                 else payment.amount, currency=status.currency or payment.currency,
                                 provider_ref=status.provider_ref)
        _events_processed(payment_id=payment.id, outcome=settled.outcome)
        return settled
    if status.state in ("failed", "expired", "canceled"):
        payment_fail(payment_id=payment.id, status=status.state, reason=status.failure)
        _events_processed(payment_id=payment.id, outcome=status.state)
    return None


@use_case(DB)
def _events_processed(*, payment_id: UUID, outcome: str) -> None:
    ProviderEvent.objects.filter(payment_id=payment_id, processed_at__isnull=True).update(
        processed_at=clock.now(), outcome=outcome[:40])


# --- webhooks -----------------------------------------------------------------------------------------
def webhook_receive(*, provider: str, headers: dict[str, str], body: bytes, query: dict[str, str]) -> tuple[str, UUID]:
    """Verify a provider's webhook and keep it once: ``("stored" | "duplicate", payment id)``.
    Raises ``webhook_rejected`` (nothing kept) when it cannot be trusted. Processing (a status
    fetch, then settling) happens after, in the worker (``tasks.payment_confirm``)."""
    try:
        adapter = providers.provider_for(provider)
        inbound = adapter.verify(headers=headers, body=body, query=query)
    except providers.Rejected as exc:
        raise errors.WEBHOOK_REJECTED(reason=exc.reason) from exc
    except Exception as exc:
        if errors.PROVIDER_NOT_CONFIGURED.matches(exc):
            raise errors.WEBHOOK_REJECTED(reason="provider_not_configured") from exc
        raise
    outcome, payment_id = _event_keep(provider=provider, inbound=inbound)
    if outcome == "stored":
        confirm_enqueue(payment_id=payment_id)  # lost if this process dies now: payments_poll finds it
    return outcome, payment_id


@use_case(DB)
def _event_keep(*, provider: str, inbound: Inbound) -> tuple[str, UUID]:
    """The event, once per provider event id, tied to the payment it names (which must exist;
    Orange's token must be the one it gave us for that payment)."""
    payment = None
    if inbound.reference:
        payment = Payment.objects.filter(provider=provider, reference=inbound.reference).first()
    if payment is None and inbound.provider_ref:
        payment = Payment.objects.filter(provider=provider, provider_ref=inbound.provider_ref).first()
    if payment is None:
        raise errors.WEBHOOK_REJECTED(reason="payment_unknown")
    if inbound.token and not hmac.compare_digest(inbound.token.encode(), (payment.secret or "").encode()):
        raise errors.WEBHOOK_REJECTED(reason="token_mismatch")
    _kept, created = ProviderEvent.objects.get_or_create(
        provider=provider, event_id=inbound.event_id[:255],
        defaults={"event_type": inbound.event_type[:80], "payment": payment, "body": inbound.body})
    return ("stored" if created else "duplicate"), payment.id


# --- the worker's side ----------------------------------------------------------------------------------
CONFIRM_ACTOR, QUEUE_NAME = "payments.confirm", "payments"


def confirm_enqueue(*, payment_id: UUID, delay_ms: int | None = None) -> None:
    """Ask the worker to run ``payment_confirm`` for ``payment_id`` (after what enqueued it committed)."""
    import dramatiq

    dramatiq.get_broker().enqueue(dramatiq.Message(queue_name=QUEUE_NAME, actor_name=CONFIRM_ACTOR,
                                                   args=(str(payment_id),), kwargs={}, options={}), delay=delay_ms)


def payments_poll(*, older_than_s: int = 60, limit: int = 200) -> int:
    """The job that covers webhooks that never came or were never processed: ask the worker to
    confirm each payment still under way for more than ``older_than_s`` seconds, or with a
    stored event not yet processed. Returns how many were asked about."""
    from datetime import timedelta

    from django.db.models import Q

    cutoff = clock.now() - timedelta(seconds=older_than_s)
    due = (Payment.objects.filter(Q(status="processing", updated_at__lte=cutoff)
                                  | Q(events__processed_at__isnull=True, events__received_at__lte=cutoff))
           .filter(status__in=("pending", "processing")).values_list("id", flat=True).distinct()[:limit])
    ids = list(due)
    for payment_id in ids:
        confirm_enqueue(payment_id=payment_id)
    return len(ids)


def order_refund_with_provider(*, order_id: UUID, reason: str, actor_id: UUID) -> Order:
    """Staff refund: the provider gives the money back first (where it has a refund call), then
    the ledger is reversed and the entitlement revoked (``order_refund``). A provider that has no
    refund call (Orange Money Web Payment) is refunded by staff in its portal: the ledger still
    records it, and the audit says so."""
    order = Order.objects.filter(id=order_id).first()
    if order is None:
        raise errors.ORDER_NOT_FOUND(order_id=str(order_id))
    if order.status != "paid":
        raise errors.REFUND_NOT_POSSIBLE(order_id=str(order_id), status=order.status)
    payment = Payment.objects.get(order=order, status="succeeded")
    adapter = providers.provider_for(payment.provider)
    try:
        adapter.refund(provider_ref=payment.provider_ref, amount=payment.amount, currency=payment.currency)
        where = "provider"
    except Refused as exc:
        log.warning("provider refund refused; refund by hand", provider=payment.provider, error=str(exc))
        where = "by_hand"
    except Unavailable as exc:
        raise errors.PROVIDER_UNAVAILABLE(provider=payment.provider) from exc
    log.info("order refunded", order_id=str(order_id), actor_id=str(actor_id), reason=reason, where=where)
    return order_refund(order_id=order_id, reason=reason, actor_id=actor_id)
