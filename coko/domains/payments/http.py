"""HTTP edge of the payments domain: the brief's routes under /api/v1/payment.

Thin: parse, call a service or selector, shape the answer. Amounts are integer minor units
with their ISO 4217 code (and ``display``, as a reader reads them in the request's language);
the server computes every amount from the plan or the book, never from the client.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Literal
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from django.utils.html import escape
from django.utils.translation import get_language
from ninja import Field, Query, Router, Schema, Status

from coko.platform import money
from coko.platform.auth.ninja import BearerAuth, require_role
from coko.platform.http.openapi import error_statuses
from coko.platform.observability import get_logger
from coko.platform.ratelimit import rate_limit_check

from . import api, errors, selectors, services
from .documents import receipt_pdf as receipt_pdf_bytes
from .models import Order

router = Router(tags=["payments"])
bearer = BearerAuth()
admin = require_role("admin")
log = get_logger("coko.payments")

Provider = Literal["orange_money", "wave", "stripe"]
Currency = Literal["XOF", "EUR", "USD"]
IDEMPOTENCY = {"parameters": [{"in": "header", "name": "Idempotency-Key", "required": False,
                               "schema": {"type": "string", "maxLength": 255},
                               "description": "the same key with the same body answers the first answer again"}]}


def _lang() -> str:
    return (get_language() or "fr")[:2]


# --- schemas ------------------------------------------------------------------------------------
class PriceOut(Schema):
    currency: str
    amount: int = Field(description="integer minor units (XOF has none)")
    display: str


class PlanOut(Schema):
    slug: str
    name: str
    period: str
    scope: str
    prices: list[PriceOut]


class PaymentOut(Schema):
    provider: str
    status: str
    redirect_url: str = Field(description="where the payer approves the payment (open it in a browser)")


class OrderOut(Schema):
    id: UUID
    kind: str
    status: str
    plan: str | None
    book_id: UUID | None
    amount: int
    currency: str
    display: str
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    receipt_number: str | None
    payment: PaymentOut | None


class OrdersOut(Schema):
    items: list[OrderOut]
    next_cursor: str | None


class SubscribeIn(Schema):
    plan: str = Field(..., min_length=1, max_length=40)
    currency: Currency = "XOF"
    provider: Provider | None = Field(None, description="start the payment with this provider at once")


class PurchaseIn(Schema):
    book_id: UUID
    provider: Provider | None = None


class PayIn(Schema):
    order_id: UUID


class RedeemIn(Schema):
    code: str = Field(..., min_length=4, max_length=64)


class RefundIn(Schema):
    reason: str = Field(..., min_length=3, max_length=200)


class EntitlementOut(Schema):
    kind: str
    book_id: str | None
    plan: str | None
    starts_at: datetime
    ends_at: datetime | None


class PageIn(Schema):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=200, description="the next_cursor of the previous page")


# --- shaping -------------------------------------------------------------------------------------
def _order_out(order: Order) -> dict:
    payments = sorted(order.payments.all(), key=lambda p: p.created_at)
    payment = payments[-1] if payments else None
    receipt = getattr(order, "receipt", None) if order.status in ("paid", "refunded") else None
    return {"id": order.id, "kind": order.kind, "status": order.status, "plan": order.plan.slug if order.plan else None,
            "book_id": order.book_id, "amount": order.amount, "currency": order.currency,
            "display": money.display(amount=order.amount, currency=order.currency, language=_lang()),
            "created_at": order.created_at, "expires_at": order.expires_at, "paid_at": order.paid_at,
            "receipt_number": receipt.number if receipt else None,
            "payment": {"provider": payment.provider, "status": payment.status,
                        "redirect_url": payment.redirect_url} if payment else None}


def _order_json(order_id: UUID, user_id) -> dict:
    order = selectors.order_for_user(user_id=user_id, order_id=order_id)
    return json.loads(OrderOut(**_order_out(order)).model_dump_json())


def _cursor_encode(order: Order) -> str:
    return base64.urlsafe_b64encode(json.dumps([order.created_at.isoformat(), str(order.id)]).encode()).decode()


def _cursor_decode(cursor: str) -> tuple[datetime, UUID]:
    try:
        created_at, order_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(created_at), UUID(order_id)
    except (ValueError, TypeError) as exc:
        raise errors.INVALID_PAGE_CURSOR(cursor=cursor) from exc


def _start(order: Order, *, user_id, provider: str | None) -> None:
    if provider is not None:
        services.payment_start(order_id=order.id, user_id=user_id, provider=provider)


# --- plans and orders ---------------------------------------------------------------------------
@router.get("/payment/plans", response=list[PlanOut], auth=None, summary="The passes on sale, with their prices")
def plans(request: HttpRequest):
    lang = _lang()
    return [{"slug": p.slug, "name": p.names.get(lang) or p.names.get("fr") or p.slug, "period": p.period,
             "scope": p.scope,
             "prices": [{"currency": price.currency, "amount": price.amount,
                         "display": money.display(amount=price.amount, currency=price.currency, language=lang)}
                        for price in sorted(p.prices.all(), key=lambda price: price.currency != "XOF")]}
            for p in selectors.plans_list()]


@router.post("/payment/subscribe", response={201: OrderOut}, auth=bearer, summary="Order a pass (and start paying)",
             openapi_extra={**IDEMPOTENCY, **error_statuses(404)})
def subscribe(request: HttpRequest, payload: SubscribeIn):
    user_id = request.auth.user_id

    def work():
        order = services.order_for_pass(user_id=user_id, plan_slug=payload.plan, currency=payload.currency)
        _start(order, user_id=user_id, provider=payload.provider)
        return 201, _order_json(order.id, user_id)

    status, body = services.idempotent(user_id=user_id, key=request.headers.get("Idempotency-Key"),
                                       route="subscribe", body=payload.dict(), work=work)
    return Status(status, body)


@router.post("/payment/purchase", response={201: OrderOut}, auth=bearer, summary="Order one book (and start paying)",
             openapi_extra=IDEMPOTENCY)
def purchase(request: HttpRequest, payload: PurchaseIn):
    user_id = request.auth.user_id

    def work():
        order = services.order_for_book(user_id=user_id, book_id=payload.book_id)
        _start(order, user_id=user_id, provider=payload.provider)
        return 201, _order_json(order.id, user_id)

    status, body = services.idempotent(user_id=user_id, key=request.headers.get("Idempotency-Key"),
                                       route="purchase", body=payload.dict(), work=work)
    return Status(status, body)


def _pay(request: HttpRequest, payload: PayIn, provider: str):
    user_id = request.auth.user_id

    def work():
        services.payment_start(order_id=payload.order_id, user_id=user_id, provider=provider)
        return 200, _order_json(payload.order_id, user_id)

    status, body = services.idempotent(user_id=user_id, key=request.headers.get("Idempotency-Key"),
                                       route=f"pay:{provider}", body=payload.dict(), work=work)
    return Status(status, body)


PAY_EXTRA = {**IDEMPOTENCY, **error_statuses(404)}


@router.post("/payment/orange-money", response=OrderOut, auth=bearer, openapi_extra=PAY_EXTRA,
             summary="Pay an order with Orange Money (answers the payment page's URL)")
def pay_orange_money(request: HttpRequest, payload: PayIn):
    return _pay(request, payload, "orange_money")


@router.post("/payment/wave", response=OrderOut, auth=bearer, openapi_extra=PAY_EXTRA,
             summary="Pay an order with Wave (answers the Wave launch URL)")
def pay_wave(request: HttpRequest, payload: PayIn):
    return _pay(request, payload, "wave")


@router.post("/payment/stripe", response=OrderOut, auth=bearer, openapi_extra=PAY_EXTRA,
             summary="Pay an order by card with Stripe (answers the Checkout page's URL)")
def pay_stripe(request: HttpRequest, payload: PayIn):
    return _pay(request, payload, "stripe")


@router.get("/payment/orders/{order_id}", response=OrderOut, auth=bearer, summary="One of my orders (poll it after paying)")
def order(request: HttpRequest, order_id: UUID):
    found = selectors.order_for_user(user_id=request.auth.user_id, order_id=order_id)
    if found is None:
        raise errors.ORDER_NOT_FOUND(order_id=str(order_id))
    return _order_out(found)


@router.get("/payment/orders/{order_id}/receipt.pdf", auth=bearer, response={200: None},
            summary="The receipt of one of my paid orders, as a PDF",
            openapi_extra={"responses": {200: {"description": "the receipt", "content": {"application/pdf": {}}}}})
def receipt_pdf(request: HttpRequest, order_id: UUID):
    document = selectors.receipt_document_for_user(user_id=request.auth.user_id, order_id=order_id,
                                                   language=_lang() if _lang() in ("fr", "en") else "en")
    if document is None:
        raise errors.RECEIPT_NOT_FOUND(order_id=str(order_id))
    response = HttpResponse(receipt_pdf_bytes(document), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="Coko-{document.number}.pdf"'
    return response


@router.get("/payment/transactions", response=OrdersOut, auth=bearer, summary="My orders and payments, newest first")
def transactions(request: HttpRequest, page: Query[PageIn]):
    before = _cursor_decode(page.cursor) if page.cursor else None
    orders = selectors.orders_for_user(user_id=request.auth.user_id, before=before, limit=page.limit + 1)
    more = len(orders) > page.limit
    orders = orders[:page.limit]
    return {"items": [_order_out(o) for o in orders], "next_cursor": _cursor_encode(orders[-1]) if more else None}


# --- what I may read -------------------------------------------------------------------------------
@router.get("/payment/entitlements", response=list[EntitlementOut], auth=bearer,
            summary="What I may read beyond free books, and until when")
def entitlements(request: HttpRequest):
    return [{"kind": e.kind, "book_id": e.book_id, "plan": e.plan_slug, "starts_at": e.starts_at, "ends_at": e.ends_at}
            for e in api.entitlements(user_id=request.auth.user_id)]


@router.post("/payment/redeem", response=list[EntitlementOut], auth=bearer, openapi_extra=error_statuses(429),
             summary="Redeem an access code from an institution")
def redeem(request: HttpRequest, payload: RedeemIn):
    rate_limit_check(key=f"payments:redeem:{request.auth.user_id}", limit=10, window_s=3600)
    services.code_redeem(user_id=request.auth.user_id, code=payload.code)
    return entitlements(request)


@router.post("/payment/subscription/cancel", response=list[EntitlementOut], auth=bearer,
             openapi_extra=error_statuses(404, 409),
             summary="Stop my pass from renewing (it stays readable to its end; a card pass is cancelled at Stripe)")
def subscription_cancel(request: HttpRequest):
    services.subscription_cancel_with_provider(user_id=request.auth.user_id)
    return entitlements(request)


# --- staff -------------------------------------------------------------------------------------------
@router.post("/payment/orders/{order_id}/refund", response=OrderOut, auth=admin,
             summary="Refund a paid order (staff): money back, book or pass taken back")
def refund(request: HttpRequest, order_id: UUID, payload: RefundIn):
    order = services.order_refund_with_provider(order_id=order_id, reason=payload.reason,
                                                actor_id=request.auth.user_id)
    return _order_out(selectors.order_for_user(user_id=order.user_id, order_id=order.id))


# --- providers ---------------------------------------------------------------------------------------
ProviderPath = Literal["orange-money", "wave", "stripe"]


@router.post("/payment/webhooks/{provider}", auth=None, response={200: dict}, openapi_extra=error_statuses(400),
             summary="A payment provider's notification (verified before anything is believed)")
def webhook(request: HttpRequest, provider: ProviderPath):
    name = provider.replace("-", "_")
    headers = {key: value for key, value in request.headers.items()}
    try:
        outcome, _payment_id = services.webhook_receive(provider=name, headers=headers, body=request.body,
                                                        query=request.GET.dict())
    except Exception as exc:
        if errors.WEBHOOK_REJECTED.matches(exc):
            log.warning("payment webhook rejected", provider=name, reason=exc.details.get("reason"),
                        ip=request.META.get("REMOTE_ADDR"))
        raise
    return {"received": outcome}


@router.get("/payment/return", auth=None, include_in_schema=False,
            summary="Where a provider sends the payer back after paying")
def payer_returns(request: HttpRequest, order: UUID | None = None, outcome: str = ""):
    """Where a provider sends the payer back: a small page that says to return to the app."""
    paid = outcome == "success"
    text = ("Merci ! Votre paiement est en cours de confirmation. Vous pouvez revenir à Coko."
            if paid else "Le paiement n’a pas abouti. Vous pouvez revenir à Coko et réessayer.")
    page = (f"<!doctype html><html lang=fr><meta charset=utf-8><meta name=viewport content='width=device-width'>"
            f"<title>Coko</title><body style='font-family:sans-serif;max-width:32em;margin:3em auto'>"
            f"<h1>Coko</h1><p>{escape(text)}</p><p><small>{escape(str(order or ''))}</small></p>")
    return HttpResponse(page, content_type="text/html; charset=utf-8")
