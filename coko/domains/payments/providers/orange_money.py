"""Orange Money Web Payment (api.orange.com): OAuth2 client credentials, a payment page, an
unsigned notification confirmed by a status call.

The access token is cached per process and refreshed a little before it expires (or on a
401). The notification carries no signature: its ``notif_token`` must equal the one Orange
gave at creation (compared in constant time by the caller) and the outcome is then taken
from the status call, never from the notification.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import date
from typing import Any

import httpx
from django.conf import settings

from coko.platform import outbound

from .base import Checkout, Inbound, ProviderStatus, Refused, Rejected, StatementLine, Unavailable

_STATE = {"SUCCESS": "succeeded", "FAILED": "failed", "EXPIRED": "expired",
          "INITIATED": "processing", "PENDING": "processing"}


class OrangeMoneyProvider:
    name = "orange_money"
    currencies = frozenset({"XOF", "XAF"})
    #: Orange has no search and refuses an ``order_id`` twice: a creation whose answer was lost
    #: cannot be found again, so a retry starts a new payment (the lost one was never shown to
    #: the payer, cannot be paid, and expires at Orange after 10 minutes)
    retry_finds_checkout = False
    lists_refunds = False  # refunds are made by hand in the merchant portal

    def __init__(self, *, base_url: str, client_id: str, client_secret: str, merchant_key: str, country: str,
                 notif_url: str, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id, self.client_secret, self.merchant_key = client_id, client_secret, merchant_key
        self.country, self.notif_url, self.timeout = country, notif_url, timeout
        self._token, self._token_until = "", 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls) -> OrangeMoneyProvider | None:
        if not settings.ORANGE_MONEY_CLIENT_ID:
            return None
        notif = (getattr(settings, "ORANGE_MONEY_NOTIF_URL", "")
                 or f"{settings.COKO_PAYMENTS['PUBLIC_URL']}/api/v1/payment/webhooks/orange-money")
        return cls(base_url=settings.ORANGE_MONEY_API_BASE, client_id=settings.ORANGE_MONEY_CLIENT_ID,
                   client_secret=settings.ORANGE_MONEY_CLIENT_SECRET or "",
                   merchant_key=settings.ORANGE_MONEY_MERCHANT_KEY or "", country=settings.ORANGE_MONEY_COUNTRY,
                   notif_url=notif, timeout=settings.COKO_PAYMENTS["TIMEOUT_S"])

    @property
    def _api(self) -> str:
        return f"{self.base_url}/orange-money-webpay/{self.country}/v1"

    # --- calls --------------------------------------------------------------------------------------
    def _access_token(self, *, force: bool = False) -> str:
        with self._lock:
            if not force and self._token and time.monotonic() < self._token_until:
                return self._token
            try:
                with outbound.http_client(timeout=self.timeout) as client:
                    resp = client.post(f"{self.base_url}/oauth/v3/token", data={"grant_type": "client_credentials"},
                                       auth=(self.client_id, self.client_secret))
            except (httpx.HTTPError, outbound.OutboundRefused) as exc:
                raise Unavailable(f"orange money token: {exc}") from exc
            if resp.status_code == 429 or resp.status_code >= 500:
                raise Unavailable(f"orange money token: HTTP {resp.status_code}")
            if resp.status_code != 200:
                raise Refused(f"orange money token refused: HTTP {resp.status_code}")
            body = resp.json()
            self._token = body["access_token"]
            self._token_until = time.monotonic() + max(0.0, float(body.get("expires_in", 300)) - 30)
            return self._token

    def _post(self, path: str, body: dict | None = None, *, params: dict | None = None) -> Any:
        method = "POST" if body is not None else "GET"
        for attempt in (0, 1):
            token = self._access_token(force=attempt == 1)
            try:
                with outbound.http_client(timeout=self.timeout) as client:
                    resp = client.request(method, f"{self._api}{path}", json=body, params=params,
                                           headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
            except (httpx.HTTPError, outbound.OutboundRefused) as exc:
                raise Unavailable(f"orange money: {exc}") from exc
            if resp.status_code != 401:  # expired or revoked: one fresh token, one retry
                break
        if resp.status_code == 429 or resp.status_code >= 500:
            raise Unavailable(f"orange money: HTTP {resp.status_code}")
        if resp.status_code >= 400:
            raise Refused(f"orange money: HTTP {resp.status_code} {resp.text[:300]}")
        return resp.json()

    def _currency(self, currency: str) -> str:
        return "OUV" if self.country == "dev" else currency  # the sandbox's only currency

    def checkout(self, *, reference: str, amount: int, currency: str, description: str,
                 return_url: str, cancel_url: str) -> Checkout:
        separator = "&" if "?" in self.notif_url else "?"
        answer = self._post("/webpayment", {
            "merchant_key": self.merchant_key, "currency": self._currency(currency), "order_id": reference,
            "amount": amount, "return_url": return_url, "cancel_url": cancel_url,
            "notif_url": f"{self.notif_url}{separator}ref={reference}", "lang": "fr", "reference": description[:30]})
        return Checkout(provider_ref=answer["pay_token"], redirect_url=answer["payment_url"],
                        secret=answer["notif_token"])

    def status(self, *, reference: str, provider_ref: str, amount: int, currency: str) -> ProviderStatus:
        answer = self._post("/transactionstatus", {"order_id": reference, "amount": amount, "pay_token": provider_ref})
        state = _STATE.get(str(answer.get("status", "")).upper(), "processing")
        # the status call names the order and the amount it was asked about: what it confirms
        return ProviderStatus(state=state, amount=amount, currency=currency, provider_ref=provider_ref,
                              failure="" if state != "failed" else str(answer.get("message", "")))

    def refund(self, *, provider_ref: str, amount: int, currency: str, reference: str = "") -> None:
        raise Refused("orange money web payment has no refund call: refund from the merchant portal")

    def close(self, *, provider_ref: str) -> None:
        """Orange has no call to close a payment page: its pay_token expires by itself (10 minutes)."""

    def refunds(self, *, day: date) -> list[StatementLine]:
        """Orange lists no refunds (they are made by hand in the merchant portal): nothing to compare."""
        return []

    def transactions(self, *, day: date) -> list[StatementLine]:
        """The payments completed ``day`` (Orange's merchant statement is a portal export; the
        simulator lists it at ``GET .../transactions?date=``, the shape this reads)."""
        answer = self._post("/transactions", params={"date": day.isoformat()})
        return [StatementLine(provider_ref=t.get("pay_token") or "", reference=t.get("order_id") or "",
                              amount=int(t["amount"]), currency=t["currency"], state="succeeded")
                for t in answer.get("transactions", []) if str(t.get("status")).upper() == "SUCCESS"]

    # --- notifications ------------------------------------------------------------------------------
    def verify(self, *, headers: dict[str, str], body: bytes, query: dict[str, str]) -> Inbound:
        try:
            note = json.loads(body)
            token, status = str(note["notif_token"]), str(note["status"]).upper()
        except (ValueError, KeyError, TypeError) as exc:
            raise Rejected("body_malformed") from exc
        reference = query.get("ref", "")
        if not reference or not token:
            raise Rejected("payment_unknown")
        txnid = str(note.get("txnid") or "")
        return Inbound(event_id=f"{reference}:{txnid or status}", event_type=f"notification.{status.lower()}",
                       reference=reference, claimed_state=_STATE.get(status, ""), token=token, body=note)
