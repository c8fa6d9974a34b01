"""Orange Money Web Payment simulator (developer.orange.com/apis/om-webpay).

- ``POST /oauth/v3/token`` (``Authorization: Basic base64(id:secret)``, form
  ``grant_type=client_credentials``) -> ``{token_type, access_token, expires_in}``; a token is
  refused with 401 once ``token_lifetime`` seconds have passed on the simulator's clock.
- ``POST /orange-money-webpay/{dev|sn|ci|...}/v1/webpayment`` (Bearer) JSON ``{merchant_key,
  currency, order_id, amount, return_url, cancel_url, notif_url, lang, reference}`` -> 201
  ``{status: 201, message: "OK", pay_token, payment_url, notif_token}``. ``dev`` is the
  sandbox: its only currency is ``OUV``; a country path takes its own currency (sn, ci, ml,
  bf, ne: XOF; cm: XAF; gn: GNF). ``order_id`` is unique and at most 30 characters.
- ``POST .../v1/transactionstatus`` ``{order_id, amount, pay_token}`` -> 201 ``{status,
  order_id, txnid}``, status INITIATED (created), PENDING (the payer opened the page),
  SUCCESS, FAILED, or EXPIRED (``pay_token_lifetime``, 10 minutes, passed unpaid).

The payer's side: ``payment_url`` is this simulator's page (approve / decline, then a
redirect to ``return_url`` / ``cancel_url``); tests call ``approve(pay_token)`` /
``decline(pay_token)``. Each outcome POSTs ``{status: SUCCESS|FAILED, notif_token, txnid}``
to the payment's ``notif_url``, unsigned, as Orange does (``webhooks.drop_next()``: one that
never arrives).

The simulator's own, documented as such (Orange's merchant statement is a portal export):
``GET .../v1/transactions?date=YYYY-MM-DD`` (Bearer) -> ``{"date", "transactions": [{txnid,
order_id, reference, amount, currency, status, pay_token, created_at, completed_at}]}``,
the payments completed (SUCCESS or FAILED) that day. Errors follow Orange's API convention
``{code, message, description}``: 401 code 41 (invalid token) / 42 (expired token), 400
code 21 (missing body field) / 25 (invalid body field, also a duplicate order_id or a
transactionstatus whose order_id, amount and pay_token do not match one payment).
"""

from __future__ import annotations

import base64
import hmac
import re
import secrets
import string
from typing import Any

from .base import Answer, RecordedRequest
from .payments_kit import PaymentSimulator

DEFAULT_PORT = 9106
CLIENT_ID, CLIENT_SECRET, MERCHANT_KEY = "orange-money-client", "orange-money-secret", "c0c0a1b2"
COUNTRY_CURRENCY = {"dev": "OUV", "sn": "XOF", "ci": "XOF", "ml": "XOF", "bf": "XOF", "ne": "XOF",
                    "gw": "XOF", "cm": "XAF", "cf": "XAF", "gn": "GNF"}
API = re.compile(r"^/orange-money-webpay/([a-z]{2,3})/v1/(webpayment|transactionstatus|transactions)$")
PAGE = re.compile(r"^/payment/pay_token/([A-Za-z0-9]+)$")
FIELDS = ("merchant_key", "currency", "order_id", "amount", "return_url", "cancel_url", "notif_url", "lang", "reference")


class OrangeMoneySimulator(PaymentSimulator):
    name = "orange-money"
    default_port = DEFAULT_PORT

    def __init__(self, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET,
                 merchant_key: str = MERCHANT_KEY, *, token_lifetime: int = 7_776_000,
                 pay_token_lifetime: int = 600, **kw: Any) -> None:
        super().__init__(**kw)
        self.client_id, self.client_secret, self.merchant_key = client_id, client_secret, merchant_key
        self.token_lifetime, self.pay_token_lifetime = token_lifetime, pay_token_lifetime
        self.tokens: dict[str, float] = {}  # access token -> expiry (clock time)
        self.payments: dict[str, dict[str, Any]] = {}  # pay_token -> payment

    def expire_tokens(self) -> None:
        """Every issued token is now refused with 401 (as after expiry or revocation)."""
        with self._lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def payment(self, *, order_id: str) -> dict[str, Any]:
        with self._lock:
            return dict(next(p for p in self.payments.values() if p["order_id"] == order_id))

    # the payer's decisions ---------------------------------------------------------
    def approve(self, pay_token: str) -> dict[str, Any]:
        """The payer confirms: SUCCESS, and the notification goes to ``notif_url``."""
        return self._complete(pay_token, "SUCCESS")

    def decline(self, pay_token: str) -> dict[str, Any]:
        """The payer cancels or the payment fails: FAILED, and the notification goes."""
        return self._complete(pay_token, "FAILED")

    def _complete(self, pay_token: str, status: str) -> dict[str, Any]:
        with self._lock:
            p = self.payments[pay_token]
            self._refresh(p)
            if p["status"] not in {"INITIATED", "PENDING"}:
                raise ValueError(f"payment {p['order_id']} is {p['status']}")
            now = self.clock.now()
            p.update(status=status, completed_at=self.clock.iso(now),
                     txnid="MP" + self.clock.iso(now)[2:10].replace("-", "") + "." + "".join(
                         secrets.choice(string.digits) for _ in range(4)) + "." + "".join(
                         secrets.choice(string.ascii_uppercase + string.digits) for _ in range(6)))
            note = {"status": status, "notif_token": p["notif_token"], "txnid": p["txnid"]}
            snapshot, url = dict(p), p["notif_url"]
        self.webhooks.emit(f"{p['notif_token']}:{status}", note, url=url)
        return snapshot

    def _refresh(self, p: dict[str, Any]) -> None:
        if p["status"] in {"INITIATED", "PENDING"} and self.clock.now() >= p["expires"]:
            p["status"] = "EXPIRED"

    # HTTP --------------------------------------------------------------------------
    @staticmethod
    def _error(status: int, code: int, message: str, description: str) -> Answer:
        return Answer.json(status, {"code": code, "message": message, "description": description})

    def failure_answer(self, status: int, body: Any, headers: dict[str, str]) -> Answer:
        if body is not None:
            return Answer.json(status, body, headers)
        if status == 429:
            return Answer.json(429, {"code": 53, "message": "Too many requests", "description": "The application has made too many calls and has exceeded the rate limit for this service."}, headers)
        return Answer.json(status, {"code": 5001, "message": "Service unavailable", "description": "The service is temporarily unavailable."}, headers)

    def handle(self, req: RecordedRequest) -> Answer:
        if req.method == "POST" and req.path == "/oauth/v3/token":
            return self._token(req)
        if match := PAGE.match(req.path):
            return self._page(req, match.group(1))
        match = API.match(req.path)
        if match is None:
            return self._error(404, 60, "Resource not found", req.path)
        auth = req.headers.get("authorization", "")
        with self._lock:
            expiry = self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if expiry is None:
            return self._error(401, 41, "Invalid credentials", "The requested service needs credentials, but the ones provided were invalid.")
        if self.clock.now() >= expiry:
            return self._error(401, 42, "Expired credentials", "The requested service needs credentials, and the ones provided were out-of-date.")
        country, call = match.groups()
        if country not in COUNTRY_CURRENCY:
            return self._error(404, 60, "Resource not found", req.path)
        if call == "transactions" and req.method == "GET":
            return self.answer_api(req, lambda: self._transactions(req))
        if req.method != "POST" or call == "transactions":
            return self._error(405, 61, "Method not allowed", req.method)
        work = self._initiate if call == "webpayment" else self._status
        return self.answer_api(req, lambda: work(req, country))

    def _token(self, req: RecordedRequest) -> Answer:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if not hmac.compare_digest(req.headers.get("authorization", ""), f"Basic {expected}"):
            return Answer.json(401, {"error": "invalid_client", "error_description": "The requested service needs credentials, but the ones provided were invalid."})
        if req.form().get("grant_type") != "client_credentials":
            return Answer.json(400, {"error": "unsupported_grant_type", "error_description": "grant_type must be client_credentials"})
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = self.clock.now() + self.token_lifetime
        return Answer.json(200, {"token_type": "Bearer", "access_token": token, "expires_in": self.token_lifetime})

    @staticmethod
    def _body(req: RecordedRequest) -> dict[str, Any] | None:
        try:
            body = req.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _initiate(self, req: RecordedRequest, country: str) -> Answer:
        body = self._body(req)
        if body is None:
            return self._error(400, 20, "Invalid body", "The request body is not a JSON object.")
        if missing := [f for f in FIELDS if body.get(f) in (None, "")]:
            return self._error(400, 21, "Missing body field", f"Missing field(s): {', '.join(missing)}")
        if not hmac.compare_digest(str(body["merchant_key"]), self.merchant_key):
            return self._error(400, 25, "Invalid body field", "merchant_key is not valid")
        currency = COUNTRY_CURRENCY[country]
        if body["currency"] != currency:
            where = "the sandbox (dev) accepts only OUV" if country == "dev" else f"{country} accepts only {currency}"
            return self._error(400, 25, "Invalid body field", f"currency {body['currency']!r}: {where}")
        amount = body["amount"]
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            return self._error(400, 25, "Invalid body field", "amount must be a positive integer")
        for f in ("order_id", "reference"):
            if not isinstance(body[f], str) or len(body[f]) > 30:
                return self._error(400, 25, "Invalid body field", f"{f} must be a string of at most 30 characters")
        if body["lang"] not in {"fr", "en"}:
            return self._error(400, 25, "Invalid body field", "lang must be fr or en")
        for f in ("return_url", "cancel_url", "notif_url"):
            if not str(body[f]).startswith(("http://", "https://")):
                return self._error(400, 25, "Invalid body field", f"{f} must be a URL")
        pay_token = "v1" + secrets.token_hex(20)
        now = self.clock.now()
        payment = {
            "order_id": body["order_id"], "reference": body["reference"], "amount": amount, "currency": currency,
            "country": country, "pay_token": pay_token, "notif_token": secrets.token_hex(16),
            "return_url": body["return_url"], "cancel_url": body["cancel_url"], "notif_url": body["notif_url"],
            "status": "INITIATED", "txnid": None, "created_at": self.clock.iso(now), "completed_at": None,
            "expires": now + self.pay_token_lifetime,
        }
        with self._lock:
            if any(p["order_id"] == body["order_id"] for p in self.payments.values()):
                return self._error(400, 25, "Invalid body field", f"order_id {body['order_id']!r} was already used")
            self.payments[pay_token] = payment
        return Answer.json(201, {"status": 201, "message": "OK", "pay_token": pay_token,
                                 "payment_url": f"{self.url}/payment/pay_token/{pay_token}",
                                 "notif_token": payment["notif_token"]})

    def _status(self, req: RecordedRequest, country: str) -> Answer:
        body = self._body(req)
        if body is None:
            return self._error(400, 20, "Invalid body", "The request body is not a JSON object.")
        if missing := [f for f in ("order_id", "amount", "pay_token") if body.get(f) in (None, "")]:
            return self._error(400, 21, "Missing body field", f"Missing field(s): {', '.join(missing)}")
        with self._lock:
            p = self.payments.get(str(body["pay_token"]))
            if p is None or p["order_id"] != body["order_id"] or p["amount"] != body["amount"] or p["country"] != country:
                return self._error(400, 25, "Invalid body field", "order_id, amount and pay_token match no payment")
            self._refresh(p)
            return Answer.json(201, {"status": p["status"], "order_id": p["order_id"], "txnid": p["txnid"]})

    def _transactions(self, req: RecordedRequest) -> Answer:
        day = self.query(req).get("date") or self.clock.iso()[:10]
        with self._lock:
            done = [p for p in self.payments.values() if p["completed_at"] and p["completed_at"].startswith(day)]
            rows = [{k: p[k] for k in ("txnid", "order_id", "reference", "amount", "currency", "status",
                                       "pay_token", "created_at", "completed_at")} for p in done]
        return Answer.json(200, {"date": day, "transactions": rows})

    def _page(self, req: RecordedRequest, pay_token: str) -> Answer:
        with self._lock:
            p = self.payments.get(pay_token)
            if p is not None:
                self._refresh(p)
                if p["status"] == "INITIATED":
                    p["status"] = "PENDING"  # the payer is on the page
        if p is None:
            return self.page(title="Orange Money", lines=["This payment link is not valid."], action=None)
        open_ = p["status"] == "PENDING"
        if req.method == "POST" and open_ and (decision := self.decision(req)):
            done = self.approve(pay_token) if decision == "approve" else self.decline(pay_token)
            return self.redirect(done["return_url"] if done["status"] == "SUCCESS" else done["cancel_url"])
        lines = [f"Pay {p['amount']} {p['currency']} — order {p['order_id']}"]
        if not open_:
            lines.append(f"This payment is {p['status']}.")
        return self.page(title="Orange Money", lines=lines, action=f"/payment/pay_token/{pay_token}" if open_ else None)
