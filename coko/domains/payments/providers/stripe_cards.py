"""Stripe, for cards: Checkout Sessions (``mode=payment`` for a book, ``mode=subscription`` for a
pass that renews by itself), signed webhooks checked by the SDK, an idempotency key on every POST.

The official ``stripe`` package does the talking (``StripeClient``), through the platform's
checked outbound session; ``STRIPE_API_BASE`` points it at the local simulator in development.
Stripe writes currencies in lower case; XOF and XAF are zero-decimal there as here.

Our payment ``reference`` travels as the session's ``client_reference_id`` and in the
metadata of the PaymentIntent (``mode=payment``) or the subscription (``mode=subscription``),
so that a declined card (``payment_intent.payment_failed``), a renewal (``invoice.*``) and a
charge in the statement can be tied back to us.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import stripe
from django.conf import settings

from coko.platform import clock, outbound

from .base import Checkout, Inbound, ProviderStatus, Refused, Rejected, StatementLine, Unavailable, header

_PERIOD = {"day": "day", "week": "week", "month": "month", "year": "year"}
#: What a webhook's type claims about its checkout session.
_CLAIMS = {"checkout.session.completed": "succeeded", "checkout.session.async_payment_succeeded": "succeeded",
           "checkout.session.async_payment_failed": "failed", "checkout.session.expired": "expired",
           "payment_intent.payment_failed": "declined"}
#: The events about a card pass after its first payment: a renewal paid or failed, its end.
SUBSCRIPTION_EVENTS = frozenset({"invoice.paid", "invoice.payment_failed", "customer.subscription.deleted"})


class StripeProvider:
    name = "stripe"
    currencies = frozenset({"XOF", "EUR", "USD"})
    retry_finds_checkout = True  # the reference is the creation's idempotency key
    lists_refunds = True  # ``GET /v1/refunds`` by day (``refunds``)

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

    # --- a payment ------------------------------------------------------------------------------
    def checkout(self, *, reference: str, amount: int, currency: str, description: str,
                 return_url: str, cancel_url: str, period: str | None = None) -> Checkout:
        """A Checkout Session for ``reference``: a one-off payment, or (``period`` given) a
        subscription renewing every period. The reference is the idempotency key: a retry
        after a lost answer returns the same session instead of a second one."""
        price_data = {"currency": currency.lower(), "unit_amount": amount, "product_data": {"name": description[:250]}}
        if period:
            price_data["recurring"] = {"interval": _PERIOD[period]}
        tag = {"metadata": {"reference": reference}}
        params = {"mode": "subscription" if period else "payment", "client_reference_id": reference,
                  "success_url": return_url, "cancel_url": cancel_url, **tag,
                  ("subscription_data" if period else "payment_intent_data"): tag,
                  "line_items": [{"quantity": 1, "price_data": price_data}]}
        session = self._call(lambda: self.client.v1.checkout.sessions.create(
            params=params, options={"idempotency_key": f"checkout-{reference}"}))
        return Checkout(provider_ref=session.id, redirect_url=session.url or "")

    def status(self, *, reference: str, provider_ref: str, amount: int, currency: str) -> ProviderStatus:
        session = self._call(lambda: self.client.v1.checkout.sessions.retrieve(
            provider_ref, params={"expand": ["payment_intent"]}))
        intent = session.payment_intent
        if session.payment_status in ("paid", "no_payment_required"):
            state = "succeeded"
        elif session.status == "expired":
            state = "expired"
        elif intent is not None and not isinstance(intent, str) and intent.last_payment_error:
            state = "declined"  # the card was refused; the session stays open until we expire it
        else:
            state = "processing"
        failure = ""
        if state == "declined":
            error = intent.last_payment_error.to_dict()
            failure = error.get("decline_code") or error.get("code") or ""
        subscription = session.subscription
        return ProviderStatus(state=state, amount=session.amount_total, currency=(session.currency or "").upper(),
                              provider_ref=session.id, failure=failure,
                              subscription_id=(subscription if isinstance(subscription, str)
                                               else getattr(subscription, "id", "")) or "")

    def close(self, *, provider_ref: str) -> None:
        self._call(lambda: self.client.v1.checkout.sessions.expire(
            provider_ref, options={"idempotency_key": f"expire-{provider_ref}"}))

    def refund(self, *, provider_ref: str, amount: int, currency: str, reference: str = "") -> None:
        """Refund the payment of a checkout session (a book's PaymentIntent, or a card pass's first
        invoice's) or a PaymentIntent (a renewal); our reference rides in the refund's metadata,
        so that the statement of refunds ties it back (``refunds``)."""
        intent = provider_ref if provider_ref.startswith("pi_") else self._session_intent(provider_ref)
        self._call(lambda: self.client.v1.refunds.create(
            params={"payment_intent": intent, **({"metadata": {"reference": reference}} if reference else {})},
            options={"idempotency_key": f"refund-{provider_ref}"}))

    def _session_intent(self, session_id: str) -> str:
        session = self._call(lambda: self.client.v1.checkout.sessions.retrieve(session_id))
        intent = session.payment_intent
        if not intent and session.invoice:  # mode=subscription: the first invoice was paid
            invoice = self.invoice(invoice_id=session.invoice if isinstance(session.invoice, str) else session.invoice.id)
            intent = next((p["payment"].get("payment_intent") for p in invoice["payments"]["data"]), None)
        if not intent:
            raise Refused("stripe: this checkout session has no payment to refund")
        return intent if isinstance(intent, str) else intent.id

    # --- a card pass ------------------------------------------------------------------------------
    def invoice(self, *, invoice_id: str) -> dict:
        """An invoice as Stripe has it now (a renewal is believed from this, not from the event)."""
        return self._call(lambda: self.client.v1.invoices.retrieve(invoice_id)).to_dict()

    def payment_failure(self, *, intent_id: str) -> str:
        """Why Stripe declined a PaymentIntent's last attempt (its decline code), or ''."""
        intent = self._call(lambda: self.client.v1.payment_intents.retrieve(intent_id))
        error = intent.last_payment_error.to_dict() if intent.last_payment_error else {}
        return error.get("decline_code") or error.get("code") or ""

    def subscription(self, *, subscription_id: str) -> dict:
        return self._call(lambda: self.client.v1.subscriptions.retrieve(subscription_id)).to_dict()

    def subscription_end(self, *, subscription_id: str) -> None:
        """End the subscription now (a refunded pass): no renewal will be charged. ``Refused``
        when Stripe has already ended it."""
        self._call(lambda: self.client.v1.subscriptions.cancel(subscription_id))

    def subscription_cancel(self, *, subscription_id: str) -> None:
        """Stop renewing at the end of the period paid (the pass stays readable until then)."""
        self._call(lambda: self.client.v1.subscriptions.update(
            subscription_id, params={"cancel_at_period_end": True},
            options={"idempotency_key": f"cancel-{subscription_id}"}))

    # --- reconciliation ----------------------------------------------------------------------------
    def transactions(self, *, day: date) -> list[StatementLine]:
        """The card charges of ``day``: each tied to our reference (the PaymentIntent's metadata;
        for a card pass, its checkout's reference or, for a renewal, the invoice id)."""
        window = self._window(day)
        charges = self._listing(self.client.v1.charges, window)
        by_intent = self._invoices_by_intent(day)
        return [StatementLine(provider_ref=charge.get("payment_intent") or charge["id"],
                              reference=self._charge_reference(charge, by_intent), amount=int(charge["amount"]),
                              currency=str(charge["currency"]).upper(),
                              state="refunded" if charge.get("refunded") else "succeeded")
                for charge in charges if charge.get("status") == "succeeded"]

    def refunds(self, *, day: date) -> list[StatementLine]:
        """The refunds made on ``day``: tied to our reference by the refund's metadata (ours carry
        it), else as the charge refunded is (a refund made in Stripe's dashboard)."""
        lines = []
        for refund in self._listing(self.client.v1.refunds, self._window(day)):
            if refund.get("status") not in ("succeeded", "pending"):
                continue
            reference = (refund.get("metadata") or {}).get("reference", "")
            if not reference and refund.get("charge"):
                charge = self._call(lambda charge_id=refund["charge"]: self.client.v1.charges.retrieve(charge_id))
                reference = self._charge_reference(charge.to_dict(), self._invoices_by_intent(day))
            lines.append(StatementLine(provider_ref=refund.get("payment_intent") or refund["id"], reference=reference,
                                       amount=int(refund["amount"]), currency=str(refund["currency"]).upper(),
                                       state="refunded"))
        return lines

    @staticmethod
    def _window(day: date) -> dict:
        start = int(datetime.combine(day, time(0), UTC).timestamp())
        return {"created": {"gte": start, "lt": start + 86400}, "limit": 100}

    def _invoices_by_intent(self, day: date) -> dict[str, dict]:
        start = int(datetime.combine(day, time(0), UTC).timestamp())
        invoices = self._listing(self.client.v1.invoices, {"created": {"gte": start - 86400, "lt": start + 86400},
                                                           "limit": 100})
        by_intent = {}
        for invoice in invoices:
            for paid in (invoice.get("payments") or {}).get("data", []):
                intent = (paid.get("payment") or {}).get("payment_intent")
                if intent:
                    by_intent[intent] = invoice
        return by_intent

    def _charge_reference(self, charge: dict, by_intent: dict[str, dict]) -> str:
        reference = (charge.get("metadata") or {}).get("reference", "")
        invoice = by_intent.get(charge.get("payment_intent"))
        if not reference and invoice is not None:
            reference = self._invoice_reference(invoice)
        return reference

    def _invoice_reference(self, invoice: dict) -> str:
        if invoice.get("billing_reason") != "subscription_create":
            return invoice["id"]  # a renewal: its payment's reference is the invoice id
        details = ((invoice.get("parent") or {}).get("subscription_details") or {})
        reference = (details.get("metadata") or {}).get("reference", "")
        if not reference and details.get("subscription"):
            found = self._call(lambda: self.client.v1.checkout.sessions.list(
                params={"subscription": details["subscription"], "limit": 1}))
            reference = found.data[0].client_reference_id if found.data else ""
        return reference or ""

    def _listing(self, service, params: dict) -> list[dict]:
        items, after = [], None
        while True:
            page = self._call(lambda: service.list(params={**params, **({"starting_after": after} if after else {})}))
            items += [item.to_dict() for item in page.data]
            if not page.has_more or not page.data:
                return items
            after = page.data[-1].id

    # --- webhooks -----------------------------------------------------------------------------------
    def verify(self, *, headers: dict[str, str], body: bytes, query: dict[str, str]) -> Inbound:
        """The SDK checks the signature; the age is checked here against our clock (the SDK's
        reads the system's)."""
        signature = header(headers, "Stripe-Signature")
        if not signature or not self.webhook_secret:
            raise Rejected("signature_missing")
        try:
            event = stripe.Webhook.construct_event(body, signature, self.webhook_secret, tolerance=None)
        except stripe.SignatureVerificationError as exc:
            raise Rejected("signature_mismatch") from exc
        except ValueError as exc:
            raise Rejected("body_malformed") from exc
        stamps = [part[2:] for part in signature.split(",") if part.startswith("t=")]
        if not stamps or not stamps[0].isdigit():
            raise Rejected("signature_malformed")
        if abs(clock.time() - int(stamps[0])) > settings.COKO_PAYMENTS["WEBHOOK_TOLERANCE_S"]:
            raise Rejected("signature_too_old")
        body_dict = event.to_dict()  # a StripeObject is no dict (its .get raises): read the plain copy
        obj = body_dict["data"]["object"]
        if event.type.startswith("checkout.session.") or event.type == "payment_intent.payment_failed":
            reference = (obj.get("client_reference_id") or (obj.get("metadata") or {}).get("reference") or "")
            if event.type.startswith("payment_intent.") and not reference:  # a PaymentIntent not made by our checkout
                return Inbound(event_id=event.id, event_type=event.type, kind="ignored", body=body_dict)
            return Inbound(event_id=event.id, event_type=event.type, reference=reference,
                           provider_ref=obj.get("id", "") if event.type.startswith("checkout.") else "",
                           claimed_state=_CLAIMS.get(event.type, ""), body=body_dict)
        if event.type in SUBSCRIPTION_EVENTS:
            if event.type.startswith("invoice."):
                details = ((obj.get("parent") or {}).get("subscription_details") or {})
                subscription_id = details.get("subscription") or ""
            else:
                subscription_id = obj.get("id", "")
            if subscription_id:
                return Inbound(event_id=event.id, event_type=event.type, provider_ref=obj.get("id", ""),
                               kind="subscription", subscription_id=subscription_id, body=body_dict)
        return Inbound(event_id=event.id, event_type=event.type, kind="ignored", body=body_dict)
