"""Wave Checkout API simulator (docs.wave.com/checkout, /webhook, /balance-api).

API (``Authorization: Bearer <api key>``; errors are ``{"code", "message"}``):

- ``POST /v1/checkout/sessions`` ``{amount (string), currency, success_url, error_url,
  client_reference?, restrict_payer_mobile?, aggregated_merchant_id?}`` -> the session;
- ``GET /v1/checkout/sessions/{id}``, ``GET /v1/checkout/sessions?transaction_id=``,
  ``GET /v1/checkout/sessions/search?client_reference=`` -> ``{"result": [...]}``;
- ``POST /v1/checkout/sessions/{id}/expire``, ``POST /v1/checkout/sessions/{id}/refund``;
- ``GET /v1/transactions?date=YYYY-MM-DD&after=<cursor>`` (Balance & Reconciliation API):
  ``{"page_info": {start_cursor, end_cursor, has_next_page}, "date", "items": [...]}``,
  one ``api_checkout`` item per payment, one ``api_checkout_refund`` (negative, is_reversal)
  per refund; ``GET /v1/balance``.

The payer's side: ``wave_launch_url`` is this simulator's page ``/c/{id}`` (approve /
decline, then a redirect to ``success_url`` / ``error_url``); tests call ``approve(id)`` /
``decline(id)``. Each outcome sends a webhook ``{id, type, data}`` (checkout.session.completed
or checkout.session.payment_failed) to ``webhooks.url`` signed
``Wave-Signature: t=<unix>,v1=<hex>`` with v1 = HMAC-SHA256(secret, t + raw body), and a
second v1 made with ``previous_webhook_secret`` when one is set (a secret being rotated).

Where Wave's documentation is silent the simulator chooses, and says so here: validation
errors answer 400 with ``details`` [{loc, msg}]; expiring a session that is not open answers
409 ``checkout-session-not-open``; refunding one that is not paid, or twice, answers 409
``checkout-refund-failed``; a declined payment leaves the session open (the payer may try
again) with ``last_payment_error``; sessions live ``session_lifetime`` seconds (24 h).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import string
from datetime import UTC, datetime
from typing import Any

from .base import Answer, RecordedRequest
from .payments_kit import PaymentSimulator

DEFAULT_PORT = 9105
API_KEY = "wave_sn_prod_simulator_key"
WEBHOOK_SECRET = "wave_sn_WHS_simulator_secret"
ZERO_DECIMAL = {"XOF", "XAF", "GNF"}
CURRENCIES = ZERO_DECIMAL | {"UGX", "GMD"}
AMOUNT = re.compile(r"^(0|[1-9][0-9]*)(\.[0-9]{1,2})?$")
_ID_CHARS = string.ascii_lowercase + string.digits
SESSION = re.compile(r"^/v1/checkout/sessions/(cos-[a-z0-9]+)(/expire|/refund)?$")
PAGE = re.compile(r"^/c/(cos-[a-z0-9]+)$")


def _id(prefix: str, n: int = 13, alphabet: str = _ID_CHARS) -> str:
    return prefix + "".join(secrets.choice(alphabet) for _ in range(n))


def wave_signature(secret: str, body: bytes, timestamp: int) -> str:
    """The hex v1 of ``Wave-Signature``: HMAC-SHA256 over the timestamp then the raw body."""
    return hmac.new(secret.encode(), str(timestamp).encode() + body, hashlib.sha256).hexdigest()


class WaveSimulator(PaymentSimulator):
    name = "wave"
    default_port = DEFAULT_PORT

    def __init__(self, api_key: str = API_KEY, webhook_secret: str = WEBHOOK_SECRET, *,
                 business_name: str = "Coko", session_lifetime: int = 24 * 3600, **kw: Any) -> None:
        super().__init__(**kw)
        self.api_key, self.webhook_secret = api_key, webhook_secret
        self.previous_webhook_secret: str | None = None  # set: each webhook carries two v1 values
        self.revoked_keys: set[str] = set()
        self.business_name, self.session_lifetime = business_name, session_lifetime
        self.sessions: dict[str, dict[str, Any]] = {}
        self.transactions: list[dict[str, Any]] = []  # the wallet's statement, oldest first
        self.page_size = 100

    # signatures ------------------------------------------------------------------
    def sign(self, body: bytes, timestamp: int) -> dict[str, str]:
        values = [wave_signature(self.webhook_secret, body, timestamp)]
        if self.previous_webhook_secret:
            values.append(wave_signature(self.previous_webhook_secret, body, timestamp))
        return {"Wave-Signature": f"t={timestamp}," + ",".join(f"v1={v}" for v in values)}

    # the payer's decisions (also reachable from the page) ------------------------
    def approve(self, session_id: str, *, payer_mobile: str = "+221770000001", payer_name: str = "Awa Diop") -> dict[str, Any]:
        """The payer pays: the session completes, a transaction is listed, the webhook goes.
        (A session restricted to another mobile fails with ``payer-mobile-mismatch``.)"""
        with self._lock:
            s = self._open_session(session_id)
            if s["restrict_payer_mobile"] and s["restrict_payer_mobile"] != payer_mobile:
                event = self._failed(s, "payer-mobile-mismatch", "The payer's mobile number does not match.")
            else:
                now = self.clock.now()
                s.update(checkout_status="complete", payment_status="succeeded", last_payment_error=None,
                         transaction_id=_id("T_", 12, string.ascii_uppercase + string.digits),
                         when_completed=self.clock.iso(now))
                fee = max(1, int(s["amount"].split(".")[0]) // 100)  # 1 %, as Wave charges merchants
                self._statement(now, s, "api_checkout", s["amount"], str(fee), payer_mobile, payer_name, False)
                event = self._event("checkout.session.completed", s)
            snapshot = dict(s)
        self.webhooks.emit(event["id"], event)
        return snapshot

    def decline(self, session_id: str, *, code: str = "insufficient-funds",
                message: str = "The payer's balance is too low.") -> dict[str, Any]:
        """The payment fails: the session stays open with ``last_payment_error``; the webhook goes."""
        with self._lock:
            event = self._failed(self._open_session(session_id), code, message)
            snapshot = dict(self.sessions[session_id])
        self.webhooks.emit(event["id"], event)
        return snapshot

    def expire_all(self) -> None:
        """Move the clock past every open session's ``when_expires``."""
        with self._lock:
            ends = [self._parse(s["when_expires"]) for s in self.sessions.values() if s["checkout_status"] == "open"]
        if ends:
            self.clock.set(max(max(ends) + 1, self.clock.now()))

    def _failed(self, s: dict[str, Any], code: str, message: str) -> dict[str, Any]:
        s["last_payment_error"] = {"code": code, "message": message}
        return self._event("checkout.session.payment_failed", s)

    def _open_session(self, session_id: str) -> dict[str, Any]:
        s = self.sessions[session_id]
        self._refresh(s)
        if s["checkout_status"] != "open":
            raise ValueError(f"session {session_id} is {s['checkout_status']}")
        return s

    def _event(self, kind: str, s: dict[str, Any]) -> dict[str, Any]:
        return {"id": _id("EV_", 12, string.ascii_letters + string.digits), "type": kind, "data": dict(s)}

    def _statement(self, now: float, s: dict[str, Any], kind: str, amount: str, fee: str,
                   mobile: str | None, name: str | None, reversal: bool) -> None:
        balance = sum(int(t["amount"]) - int(t["fee"]) for t in self.transactions) + int(amount) - int(fee)
        self.transactions.append({
            "timestamp": self.clock.iso(now), "transaction_id": s["transaction_id"] if not reversal else _id("T_", 12, string.ascii_uppercase + string.digits),
            "transaction_type": kind, "amount": amount, "fee": fee, "balance": str(balance),
            "currency": s["currency"], "is_reversal": reversal, "counterparty_name": name,
            "counterparty_mobile": mobile, "client_reference": s["client_reference"],
            "checkout_api_session_id": s["id"],
        })

    @staticmethod
    def _parse(iso: str) -> float:
        return datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()

    def _refresh(self, s: dict[str, Any]) -> None:
        if s["checkout_status"] == "open" and self.clock.now() >= self._parse(s["when_expires"]):
            s.update(checkout_status="expired", payment_status="cancelled", when_completed=s["when_expires"])

    # HTTP ------------------------------------------------------------------------
    @staticmethod
    def _error(status: int, code: str, message: str, **extra: Any) -> Answer:
        return Answer.json(status, {"code": code, "message": message, **extra})

    def failure_answer(self, status: int, body: Any, headers: dict[str, str]) -> Answer:
        if body is not None:
            return Answer.json(status, body, headers)
        if status == 429:
            return Answer.json(429, {"code": "rate-limit-exceeded", "message": "Too many requests."}, headers)
        return Answer.json(status, {"code": "internal-server-error", "message": "An internal error occurred."}, headers)

    def _auth(self, req: RecordedRequest) -> Answer | None:
        header = req.headers.get("authorization")
        if header is None:
            return self._error(401, "missing-auth-header", "Your request should include an HTTP auth header.")
        scheme, _, key = header.partition(" ")
        if scheme != "Bearer":
            return self._error(401, "invalid-auth", "Your HTTP auth header can't be processed.")
        if not key.strip():
            return self._error(401, "api-key-not-provided", "Your request should include an API key.")
        if key in self.revoked_keys:
            return self._error(401, "api-key-revoked", "Your API key has been revoked.")
        if key != self.api_key:
            return self._error(401, "no-matching-api-key", "The key you provided doesn't exist in our system.")
        return None

    def handle(self, req: RecordedRequest) -> Answer:
        if match := PAGE.match(req.path):
            return self._page(req, match.group(1))
        if not req.path.startswith("/v1/"):
            return self._error(404, "not-found", f"No route {req.path}.")
        if (refused := self._auth(req)) is not None:
            return refused
        return self.answer_api(req, lambda: self._route(req))

    def _route(self, req: RecordedRequest) -> Answer:
        q = self.query(req)
        if req.path == "/v1/checkout/sessions" and req.method == "POST":
            return self._create(req)
        if req.path == "/v1/checkout/sessions" and req.method == "GET":
            if not q.get("transaction_id"):
                return self._invalid([("transaction_id", "field required")])
            with self._lock:
                found = [s for s in self.sessions.values() if s["transaction_id"] and s["transaction_id"] == q.get("transaction_id")]
            if not found:
                return self._error(404, "checkout-session-not-found", "No checkout session has this transaction id.")
            return Answer.json(200, found[0])
        if req.path == "/v1/checkout/sessions/search" and req.method == "GET":
            if not q.get("client_reference"):
                return self._invalid([("client_reference", "field required")])
            with self._lock:
                for s in self.sessions.values():
                    self._refresh(s)
                return Answer.json(200, {"result": [s for s in self.sessions.values() if s["client_reference"] == q["client_reference"]]})
        if (match := SESSION.match(req.path)) is not None:
            return self._session_call(req, match.group(1), match.group(2))
        if req.path == "/v1/transactions" and req.method == "GET":
            return self._transactions(q)
        if req.path == "/v1/balance" and req.method == "GET":
            with self._lock:
                balance = sum(int(t["amount"]) - int(t["fee"]) for t in self.transactions)
            return Answer.json(200, {"amount": str(balance), "currency": "XOF"})
        return self._error(404, "not-found", f"No route {req.method} {req.path}.")

    def _invalid(self, details: list[tuple[str, str]]) -> Answer:
        return self._error(400, "request-validation-error", "Request invalid: " + "; ".join(f"{f}: {m}" for f, m in details),
                           details=[{"loc": [f], "msg": m} for f, m in details])

    def _create(self, req: RecordedRequest) -> Answer:
        try:
            body = req.json()
        except ValueError:
            return self._invalid([("body", "invalid JSON")])
        if not isinstance(body, dict):
            return self._invalid([("body", "must be an object")])
        problems = [(f, "field required") for f in ("amount", "currency", "success_url", "error_url") if body.get(f) in (None, "")]
        amount, currency = body.get("amount"), body.get("currency")
        if amount not in (None, "") and (not isinstance(amount, str) or not AMOUNT.match(amount)):
            problems.append(("amount", "must be a string such as \"1000\" (no leading zero, at most 2 decimals)"))
        elif isinstance(amount, str) and currency in ZERO_DECIMAL and "." in amount:
            problems.append(("amount", f"{currency} amounts have no decimals"))
        elif isinstance(amount, str) and AMOUNT.match(amount) and float(amount) <= 0:
            problems.append(("amount", "must be positive"))
        if currency not in (None, "") and currency not in CURRENCIES:
            problems.append(("currency", f"unsupported currency {currency!r}"))
        for f in ("success_url", "error_url"):
            if body.get(f) and not str(body[f]).startswith(("https://", "http://")):
                problems.append((f, "must be a URL"))
        if (ref := body.get("client_reference")) is not None and (not isinstance(ref, str) or len(ref) > 255):
            problems.append(("client_reference", "at most 255 characters"))
        mobile = body.get("restrict_payer_mobile")
        if mobile is not None and not re.fullmatch(r"\+[1-9][0-9]{6,14}", str(mobile)):
            problems.append(("restrict_payer_mobile", "must be E.164"))
        if problems:
            return self._invalid(problems)
        now = self.clock.now()
        session_id = _id("cos-")
        s = {
            "id": session_id, "amount": amount, "checkout_status": "open", "client_reference": body.get("client_reference"),
            "currency": currency, "error_url": body["error_url"], "last_payment_error": None,
            "business_name": self.business_name, "payment_status": "processing", "transaction_id": None,
            "aggregated_merchant_id": body.get("aggregated_merchant_id"), "restrict_payer_mobile": mobile,
            "success_url": body["success_url"], "wave_launch_url": f"{self.url}/c/{session_id}",
            "when_completed": None, "when_created": self.clock.iso(now),
            "when_expires": self.clock.iso(now + self.session_lifetime),
        }
        with self._lock:
            self.sessions[session_id] = s
            return Answer.json(200, dict(s))

    def _session_call(self, req: RecordedRequest, session_id: str, action: str | None) -> Answer:
        with self._lock:
            s = self.sessions.get(session_id)
            if s is None:
                return self._error(404, "checkout-session-not-found", f"No checkout session {session_id}.")
            self._refresh(s)
            if action is None and req.method == "GET":
                return Answer.json(200, dict(s))
            if action == "/expire" and req.method == "POST":
                if s["checkout_status"] != "open":
                    return self._error(409, "checkout-session-not-open", f"The session is {s['checkout_status']}.")
                s.update(checkout_status="expired", payment_status="cancelled", when_completed=self.clock.iso())
                return Answer(200, b"")
            if action == "/refund" and req.method == "POST":
                if s["payment_status"] != "succeeded" or s.get("refunded"):
                    return self._error(409, "checkout-refund-failed", "Only a paid session can be refunded, once.")
                s["refunded"] = True
                paid = next(t for t in self.transactions if t["transaction_id"] == s["transaction_id"])
                self._statement(self.clock.now(), s, "api_checkout_refund", f"-{s['amount']}", f"-{paid['fee']}",
                                paid["counterparty_mobile"], paid["counterparty_name"], True)
                return Answer(200, b"")
        return self._error(405, "method-not-allowed", f"{req.method} is not allowed here.")

    def _transactions(self, q: dict[str, str]) -> Answer:
        day = q.get("date") or self.clock.iso()[:10]
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
            return self._invalid([("date", "must be YYYY-MM-DD")])
        with self._lock:
            items = [t for t in self.transactions if t["timestamp"].startswith(day)]
        start = 0
        if after := q.get("after"):
            try:
                start = int(base64.urlsafe_b64decode(after.encode()).decode())
            except ValueError:
                return self._invalid([("after", "unknown cursor")])
        page = items[start:start + self.page_size]
        end = start + len(page)
        cursor = base64.urlsafe_b64encode(str(end).encode()).decode() if page else None
        return Answer.json(200, {"page_info": {"start_cursor": after or None, "end_cursor": cursor,
                                               "has_next_page": end < len(items)},
                                 "date": day, "items": page})

    def _page(self, req: RecordedRequest, session_id: str) -> Answer:
        with self._lock:
            s = self.sessions.get(session_id)
            if s is not None:
                self._refresh(s)
        if s is None:
            return self.page(title="Wave", lines=["This payment link is not valid."], action=None)
        if req.method == "POST" and s["checkout_status"] == "open" and (decision := self.decision(req)):
            after = self.approve(session_id) if decision == "approve" else self.decline(session_id)
            return self.redirect(after["success_url"] if after["payment_status"] == "succeeded" else after["error_url"])
        lines = [f"Pay {s['amount']} {s['currency']} to {s['business_name']}", f"Session {s['id']}"]
        if s["checkout_status"] != "open":
            lines.append(f"This session is {s['checkout_status']}.")
        return self.page(title="Wave Checkout", lines=lines,
                         action=f"/c/{session_id}" if s["checkout_status"] == "open" else None)
