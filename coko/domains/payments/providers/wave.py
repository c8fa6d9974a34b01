"""Wave Checkout (Senegal, Côte d'Ivoire): checkout sessions, signed webhooks, refunds.

Wave has no idempotency header: a creation is made retry-safe by our unique
``client_reference`` and a search for it before any retry. Webhooks carry
``Wave-Signature: t=<unix>,v1=<hex>[,v1=<hex>]``, ``v1`` = HMAC-SHA256(secret, t + raw body)
with no separator; any ``v1`` may match; our own replay window applies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from django.conf import settings

from coko.platform import clock, outbound

from .base import (
    Checkout,
    Inbound,
    ProviderStatus,
    Refused,
    Rejected,
    StatementLine,
    Unavailable,
    header,
    signature_matches,
)



def _minor(amount: str) -> int:
    """Wave's string amount in minor units (XOF has none: "1500" is 1 500)."""
    return int(Decimal(amount))


class WaveProvider:
    name = "wave"
    currencies = frozenset({"XOF"})
    retry_finds_checkout = True  # a search by client_reference before any creation
    lists_refunds = True  # its statement has the reversals (``refunds``)

    def __init__(self, *, base_url: str, api_key: str, webhook_secret: str, timeout: float) -> None:
        self.base_url, self.api_key, self.webhook_secret = base_url.rstrip("/"), api_key, webhook_secret
        self.timeout = timeout

    @classmethod
    def from_settings(cls) -> WaveProvider | None:
        if not settings.WAVE_API_KEY:
            return None
        return cls(base_url=settings.WAVE_API_BASE, api_key=settings.WAVE_API_KEY,
                   webhook_secret=settings.WAVE_WEBHOOK_SECRET or "", timeout=settings.COKO_PAYMENTS["TIMEOUT_S"])

    # --- calls --------------------------------------------------------------------------------------
    def _call(self, method: str, path: str, body: dict | None = None, params: dict | None = None) -> Any:
        try:
            with outbound.http_client(timeout=self.timeout) as client:
                resp = client.request(method, f"{self.base_url}{path}", json=body, params=params,
                                      headers={"Authorization": f"Bearer {self.api_key}"})
        except (httpx.HTTPError, outbound.OutboundRefused) as exc:
            raise Unavailable(f"wave: {exc}") from exc
        if resp.status_code == 429 or resp.status_code >= 500:
            raise Unavailable(f"wave: HTTP {resp.status_code}")
        if resp.status_code >= 400:
            raise Refused(f"wave: HTTP {resp.status_code} {resp.text[:300]}")
        return resp.json() if resp.content else {}  # expire and refund answer 200 with no body

    def _find(self, reference: str) -> dict | None:
        found = self._call("GET", "/v1/checkout/sessions/search", params={"client_reference": reference})
        sessions = found.get("result", [])
        return sessions[0] if sessions else None

    def checkout(self, *, reference: str, amount: int, currency: str, description: str,
                 return_url: str, cancel_url: str) -> Checkout:
        """A checkout session for ``reference``; the one already made if an earlier try got through."""
        session = None
        try:
            session = self._find(reference)
        except Unavailable:
            pass
        if session is None:
            try:
                session = self._call("POST", "/v1/checkout/sessions", {
                    "amount": str(amount), "currency": currency, "client_reference": reference,
                    "success_url": return_url, "error_url": cancel_url})
            except Unavailable:
                session = self._find(reference)  # it may have been created before the line dropped
                if session is None:
                    raise
        return Checkout(provider_ref=session["id"], redirect_url=session.get("wave_launch_url", ""))

    def status(self, *, reference: str, provider_ref: str, amount: int, currency: str) -> ProviderStatus:
        session = (self._call("GET", f"/v1/checkout/sessions/{provider_ref}") if provider_ref
                   else self._find(reference))
        if session is None:
            return ProviderStatus(state="processing")
        error = session.get("last_payment_error") or {}
        if session.get("payment_status") == "succeeded":
            state = "succeeded"
        elif session.get("checkout_status") == "expired":
            state = "expired"
        elif session.get("payment_status") == "cancelled":
            state = "failed"
        else:  # open: a declined attempt leaves it open for another try, until we close it
            state = "declined" if error else "processing"
        return ProviderStatus(state=state, amount=_minor(session["amount"]), currency=session["currency"],
                              provider_ref=session["id"], failure=error.get("code", ""))

    def close(self, *, provider_ref: str) -> None:
        self._call("POST", f"/v1/checkout/sessions/{provider_ref}/expire")

    def _statement(self, day: date) -> list[dict]:
        """Wave's Balance & Reconciliation listing of ``day``, every page."""
        items, after = [], None
        while True:
            page = self._call("GET", "/v1/transactions", params={"date": day.isoformat(),
                                                                 **({"after": after} if after else {})})
            items += page.get("items", [])
            after = (page.get("page_info") or {}).get("end_cursor")
            if not (page.get("page_info") or {}).get("has_next_page"):
                return items

    def transactions(self, *, day: date) -> list[StatementLine]:
        """The checkouts paid on ``day`` (one refunded the same day, a reversal, is ``refunded``)."""
        items = self._statement(day)
        refunded = {t.get("checkout_api_session_id") for t in items if t.get("is_reversal")}
        return [StatementLine(provider_ref=t.get("checkout_api_session_id") or "", reference=t.get("client_reference") or "",
                              amount=_minor(t["amount"]), currency=t["currency"],
                              state="refunded" if t.get("checkout_api_session_id") in refunded else "succeeded")
                for t in items if t.get("transaction_type") == "api_checkout" and not t.get("is_reversal")]

    def refunds(self, *, day: date) -> list[StatementLine]:
        """The checkouts refunded on ``day``: the reversals (``api_checkout_refund``, negative)."""
        return [StatementLine(provider_ref=t.get("checkout_api_session_id") or "", reference=t.get("client_reference") or "",
                              amount=abs(_minor(t["amount"])), currency=t["currency"], state="refunded")
                for t in self._statement(day) if t.get("transaction_type") == "api_checkout_refund"]

    def refund(self, *, provider_ref: str, amount: int, currency: str, reference: str = "") -> None:
        self._call("POST", f"/v1/checkout/sessions/{provider_ref}/refund")

    # --- webhooks -----------------------------------------------------------------------------------
    def verify(self, *, headers: dict[str, str], body: bytes, query: dict[str, str]) -> Inbound:
        signature = header(headers, "Wave-Signature")
        if not signature or not self.webhook_secret:
            raise Rejected("signature_missing")
        parts = [part.partition("=") for part in signature.split(",")]
        stamps = [value for key, _, value in parts if key.strip() == "t"]
        given = [value.strip() for key, _, value in parts if key.strip() == "v1"]
        if len(stamps) != 1 or not stamps[0].strip().isdigit() or not given:
            raise Rejected("signature_malformed")
        expected = hmac.new(self.webhook_secret.encode(), stamps[0].strip().encode() + body, hashlib.sha256).hexdigest()
        if not signature_matches(expected, given):
            raise Rejected("signature_mismatch")
        if abs(clock.time() - int(stamps[0])) > settings.COKO_PAYMENTS["WEBHOOK_TOLERANCE_S"]:
            raise Rejected("signature_too_old")
        try:
            event = json.loads(body)
            data = event.get("data") or {}
            event_id, event_type = str(event["id"]), str(event["type"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise Rejected("body_malformed") from exc
        claimed = {"checkout.session.completed": "succeeded",
                   "checkout.session.payment_failed": "failed"}.get(event_type, "")
        return Inbound(event_id=event_id, event_type=event_type, reference=str(data.get("client_reference") or ""),
                       provider_ref=str(data.get("id") or ""), claimed_state=claimed, body=event)
