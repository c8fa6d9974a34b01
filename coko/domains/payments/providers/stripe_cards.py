"""Stripe, for cards: Checkout Sessions (``mode=payment`` for a book, ``mode=subscription`` for a
pass that renews by itself), signed webhooks checked by the SDK, an idempotency key on every POST.

The official ``stripe`` package does the talking (``StripeClient``), through the platform's
checked outbound session; ``STRIPE_API_BASE`` points it at the local simulator in development.
Stripe writes currencies in lower case; XOF and XAF are zero-decimal there as here.
"""

from __future__ import annotations

import stripe
from django.conf import settings

from coko.platform import outbound

from .base import Checkout, Inbound, ProviderStatus, Refused, Rejected, Unavailable, header

_PERIOD = {"day": "day", "week": "week", "month": "month", "year": "year"}
#: What a webhook's type claims about its checkout session.
_CLAIMS = {"checkout.session.completed": "succeeded", "checkout.session.async_payment_succeeded": "succeeded",
           "checkout.session.async_payment_failed": "failed", "checkout.session.expired": "expired"}


class StripeProvider:
    name = "stripe"
    currencies = frozenset({"XOF", "EUR", "USD"})

    def __init__(self, *, api_base: str, secret_key: str, webhook_secret: str, timeout: float) -> None:
        self.webhook_secret = webhook_secret
        session = outbound.requests_session()
        self.client = stripe.StripeClient(
            secret_key, base_addresses={"api": api_base.rstrip("/")}, max_network_retries=2,
            http_client=stripe.RequestsClient(timeout=timeout, session=session))

    @classmethod
    def from_settings(cls) -> StripeProvider | None:
        if not settings.STRIPE_SECRET_KEY:
            return None
        return cls(api_base=settings.STRIPE_API_BASE, secret_key=settings.STRIPE_SECRET_KEY,
                   webhook_secret=settings.STRIPE_WEBHOOK_SECRET or "", timeout=settings.COKO_PAYMENTS["TIMEOUT_S"])

    def _call(self, work):
        try:
            return work()
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise Unavailable(f"stripe: {exc}") from exc
        except stripe.StripeError as exc:
            if (exc.http_status or 500) >= 500:
                raise Unavailable(f"stripe: {exc}") from exc
            raise Refused(f"stripe: {exc}") from exc

    def checkout(self, *, reference: str, amount: int, currency: str, description: str,
                 return_url: str, cancel_url: str, period: str | None = None) -> Checkout:
        """A Checkout Session for ``reference``: a one-off payment, or (``period`` given) a
        subscription renewing every period. The reference is the idempotency key: a retry
        after a lost answer returns the same session instead of a second one."""
        price_data = {"currency": currency.lower(), "unit_amount": amount, "product_data": {"name": description[:250]}}
        if period:
            price_data["recurring"] = {"interval": _PERIOD[period]}
        params = {"mode": "subscription" if period else "payment", "client_reference_id": reference,
                  "success_url": return_url, "cancel_url": cancel_url, "metadata": {"reference": reference},
                  "line_items": [{"quantity": 1, "price_data": price_data}]}
        session = self._call(lambda: self.client.v1.checkout.sessions.create(
            params=params, options={"idempotency_key": f"checkout-{reference}"}))
        return Checkout(provider_ref=session.id, redirect_url=session.url or "")

    def status(self, *, reference: str, provider_ref: str, amount: int, currency: str) -> ProviderStatus:
        session = self._call(lambda: self.client.v1.checkout.sessions.retrieve(provider_ref))
        if session.payment_status in ("paid", "no_payment_required"):
            state = "succeeded"
        elif session.status == "expired":
            state = "expired"
        else:
            state = "processing"
        return ProviderStatus(state=state, amount=session.amount_total, currency=(session.currency or "").upper(),
                              provider_ref=session.id)

    def refund(self, *, provider_ref: str, amount: int, currency: str) -> None:
        session = self._call(lambda: self.client.v1.checkout.sessions.retrieve(provider_ref))
        intent = session.payment_intent
        if not intent:
            raise Refused("stripe: this checkout session has no payment to refund")
        self._call(lambda: self.client.v1.refunds.create(
            params={"payment_intent": intent if isinstance(intent, str) else intent.id},
            options={"idempotency_key": f"refund-{provider_ref}"}))

    def verify(self, *, headers: dict[str, str], body: bytes, query: dict[str, str]) -> Inbound:
        signature = header(headers, "Stripe-Signature")
        if not signature or not self.webhook_secret:
            raise Rejected("signature_missing")
        try:
            event = stripe.Webhook.construct_event(body, signature, self.webhook_secret,
                                                   tolerance=settings.COKO_PAYMENTS["WEBHOOK_TOLERANCE_S"])
        except stripe.SignatureVerificationError as exc:
            raise Rejected("signature_too_old" if "tolerance" in str(exc).lower() else "signature_mismatch") from exc
        except ValueError as exc:
            raise Rejected("body_malformed") from exc
        obj = event.data.object
        reference = ""
        if event.type.startswith("checkout.session."):
            reference = obj.get("client_reference_id") or (obj.get("metadata") or {}).get("reference") or ""
        return Inbound(event_id=event.id, event_type=event.type, reference=reference,
                       provider_ref=obj.get("id", ""), claimed_state=_CLAIMS.get(event.type, ""),
                       body=event.to_dict())
