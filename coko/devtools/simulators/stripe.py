"""Stripe API simulator: enough of Stripe for the real ``stripe`` package to run against it.

Point the package at it with ``stripe.api_base = sim.url`` (or ``StripeClient(key,
base_addresses={"api": sim.url})``) and ``sim.secret_key``. It speaks Stripe's v1 API:
form-encoded bodies with bracket notation, ``Authorization: Bearer sk_…``, errors as
``{"error": {type, code, message, param}}``, lists as ``{"object": "list", "data",
"has_more", "url"}`` (newest first, ``limit``, ``starting_after``, ``created[gte|lt…]``),
``expand[]`` on object fields, and ``Idempotency-Key`` on every POST: the same key with the
same parameters replays the first answer (``Idempotent-Replayed: true``), with other
parameters it is refused with 400 ``idempotency_error`` (a validation error is not kept, as
at Stripe).

Routes: ``/v1/customers``, ``/v1/products``, ``/v1/prices``, ``/v1/payment_intents`` (create,
retrieve, update, ``/confirm``, ``/cancel``), ``/v1/checkout/sessions`` (mode ``payment`` and
``subscription``; ``/expire``), ``/v1/subscriptions`` (retrieve, update
``cancel_at_period_end``, DELETE to cancel), ``/v1/invoices``, ``/v1/refunds``,
``/v1/charges``, ``/v1/balance_transactions`` and ``/v1/events`` (reconciliation reads the
last two). Currencies are lowercase in answers; XOF and XAF are zero-decimal.

The payer's side: a Checkout Session's ``url`` (``/checkout/{id}``) and a PaymentIntent
confirmed with a ``return_url`` and no payment method (``next_action.redirect_to_url``,
``/pay/{id}``) are this simulator's approve / decline pages; tests call
``approve_checkout`` / ``decline_checkout`` / ``approve_payment`` / ``decline_payment``, or
confirm with ``payment_method="pm_card_visa"`` (or ``pm_card_chargeDeclined``: 402).
A card declined on a subscription's checkout leaves the session open, an ``incomplete``
subscription and its first invoice failed (``invoice.payment_failed``), as Stripe does; another
card then pays that invoice. ``advance_period(subscription_id, fail=False)`` renews a subscription (``invoice.paid``, or
``invoice.payment_failed`` and ``past_due``). Every event is stored (``GET /v1/events/{id}``)
and POSTed to ``webhooks.url`` signed ``Stripe-Signature: t=<unix>,v1=<hex>``,
HMAC-SHA256(webhook secret, f"{t}.{body}"), as ``stripe.Webhook.construct_event`` checks.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import re
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from .base import Answer, RecordedRequest
from .payments_kit import PaymentSimulator
from .stripe_billing import StripeBilling
from .stripe_forms import ZERO_DECIMAL, StripeError, new_id, parse_params

DEFAULT_PORT = 9107
SECRET_KEY = "sk_test_simulator_0000000000000000"
PUBLISHABLE_KEY = "pk_test_simulator_0000000000000000"
WEBHOOK_SECRET = "whsec_simulator_000000000000000000000000"
API_VERSION = "2026-10-28.endive"  # the version the pinned stripe package sends
ID = r"([A-Za-z0-9_]+)"


def stripe_signature(secret: str, body: bytes, timestamp: int) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


class StripeSimulator(PaymentSimulator, StripeBilling):
    name = "stripe"
    default_port = DEFAULT_PORT

    def __init__(self, secret_key: str = SECRET_KEY, webhook_secret: str = WEBHOOK_SECRET, *,
                 api_version: str = API_VERSION, **kw: Any) -> None:
        super().__init__(**kw)
        self.secret_key, self.webhook_secret, self.api_version = secret_key, webhook_secret, api_version
        self._init_resources()
        self._state = threading.RLock()
        self.idempotent: dict[str, tuple[str, str, dict[str, Any], Answer]] = {}
        self._in_flight: set[str] = set()
        self._routes = self._route_table()

    def sign(self, body: bytes, timestamp: int) -> dict[str, str]:
        return {"Stripe-Signature": f"t={timestamp},v1={stripe_signature(self.webhook_secret, body, timestamp)}",
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)"}

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event, oldest first."""
        with self._state:
            return [copy.deepcopy(o) for o in self.objects.values() if o["object"] == "event"]

    def get(self, object_id: str) -> dict[str, Any]:
        with self._state:
            return copy.deepcopy(self.objects[object_id])

    # controls: the payer, and time -------------------------------------------------------
    def approve_checkout(self, session_id: str) -> dict[str, Any]:
        return self._locked(lambda: self.complete_checkout(self._get("checkout.session", session_id), approve=True))

    def decline_checkout(self, session_id: str) -> dict[str, Any]:
        return self._locked(lambda: self.complete_checkout(self._get("checkout.session", session_id), approve=False))

    def approve_payment(self, intent_id: str) -> dict[str, Any]:
        """The payer confirms a PaymentIntent on the page (or as a card that succeeds)."""
        return self._locked(lambda: self._decide(self._get("payment_intent", intent_id), True))

    def decline_payment(self, intent_id: str) -> dict[str, Any]:
        return self._locked(lambda: self._decide(self._get("payment_intent", intent_id), False))

    def advance_period(self, subscription_id: str, *, fail: bool = False) -> dict[str, Any] | None:
        """Renew now: the new period's invoice (paid, or failed with ``fail``), or None when
        the subscription was set to cancel at period end (it ends instead)."""
        return self._locked(lambda: self.renew(self._get("subscription", subscription_id), fail=fail))

    def _decide(self, pi: dict[str, Any], approve: bool) -> dict[str, Any]:
        if pi["status"] not in {"requires_payment_method", "requires_confirmation", "requires_action"}:
            raise StripeError(400, f"This PaymentIntent is {pi['status']}.", code="payment_intent_unexpected_state")
        if approve:
            return self._succeed(pi)
        self._fail(pi, "pm_card_chargeDeclined")
        return pi

    def _locked(self, work: Callable[[], Any]) -> Any:
        """Run ``work`` on the state, then send the events it produced (outside the lock)."""
        try:
            with self._state:
                return copy.deepcopy(work())
        finally:
            with self._state:
                outgoing, self._outgoing = self._outgoing, []
            for event in outgoing:
                self.webhooks.emit(event["id"], event)

    # HTTP ---------------------------------------------------------------------------------
    def failure_answer(self, status: int, body: Any, headers: dict[str, str]) -> Answer:
        if body is not None:
            return Answer.json(status, body, headers)
        kind = "rate_limit_error" if status == 429 else "api_error"
        return Answer.json(status, StripeError(status, "An error occurred with our connection to Stripe.",
                                               type=kind).body(), headers)

    def _error(self, error: StripeError) -> Answer:
        return Answer.json(error.status, error.body(), {"Request-Id": new_id("req_", 14)})

    def handle(self, req: RecordedRequest) -> Answer:
        if match := re.fullmatch(r"/checkout/" + ID, req.path):
            return self._checkout_page(req, match.group(1))
        if match := re.fullmatch(r"/pay/" + ID, req.path):
            return self._intent_page(req, match.group(1))
        if not req.path.startswith("/v1/"):
            return self._error(StripeError(404, f"Unrecognized request URL ({req.method}: {req.path})."))
        auth = req.headers.get("authorization", "")
        if not auth:
            return self._error(StripeError(401, "You did not provide an API key. You need to provide your API key in "
                                                "the Authorization header, using Bearer auth (e.g. 'Authorization: "
                                                "Bearer YOUR_SECRET_KEY')."))
        key = auth[7:] if auth.startswith("Bearer ") else ""
        if not hmac.compare_digest(key, self.secret_key):
            return self._error(StripeError(401, f"Invalid API Key provided: {key[:8]}****{key[-4:]}"))
        try:
            params = parse_params(req.body.decode() if req.method == "POST" else urlsplit(req.raw_path).query)
        except StripeError as error:
            return self._error(error)
        idem = req.headers.get("idempotency-key") if req.method == "POST" else None
        if idem:
            with self._state:
                stored = self.idempotent.get(idem)
                if stored is None and idem in self._in_flight:
                    return self._error(StripeError(409, "There is currently another in-progress request using this "
                                                        "Idempotent Key (that probably means you submitted twice, and "
                                                        "the other request is still going through): " + idem,
                                                   type="idempotency_error"))
                if stored is not None:
                    if stored[:3] != (req.method, req.path, params):
                        return self._error(StripeError(400, "Keys for idempotent requests can only be used with the "
                                                            "same parameters they were first used with. Try using a key "
                                                            f"other than '{idem}' if you meant to execute a different "
                                                            "request.", type="idempotency_error"))
                    first = stored[3]
                    return Answer(first.status, first.body, {**first.headers, "Idempotent-Replayed": "true"})
                self._in_flight.add(idem)
        try:
            return self.answer_api(req, lambda: self._execute(req, params, idem))
        finally:  # a scripted failure (fail_next) answers without executing: the key is free again
            if idem:
                with self._state:
                    self._in_flight.discard(idem)

    def _execute(self, req: RecordedRequest, params: dict[str, Any], idem: str | None) -> Answer:
        try:
            answer = self._call(req, params)
        finally:
            if idem:
                with self._state:
                    self._in_flight.discard(idem)
        if idem and (answer.status < 400 or answer.status == 402):
            with self._state:
                self.idempotent[idem] = (req.method, req.path, params, answer)
        return answer

    def _call(self, req: RecordedRequest, params: dict[str, Any]) -> Answer:
        for method, pattern, handler in self._routes:
            if method == req.method and (match := pattern.fullmatch(req.path)):
                params = dict(params)  # the caller keeps the parameters as sent (idempotency compares them)
                expand = params.pop("expand", None) or []
                try:
                    result = self._locked(lambda: handler(params, *match.groups()))
                except StripeError as error:
                    return self._error(error)
                with self._state:
                    for path in expand if isinstance(expand, list) else [expand]:
                        self._expand(result, path.split("."))
                return Answer.json(200, result, {"Request-Id": new_id("req_", 14), "Stripe-Version": self.api_version})
        return self._error(StripeError(404, f"Unrecognized request URL ({req.method}: {req.path})."))

    def _expand(self, obj: Any, parts: list[str]) -> None:
        if isinstance(obj, dict) and obj.get("object") == "list" and parts[0] == "data":
            for item in obj["data"]:
                self._expand(item, parts[1:])
            return
        if not isinstance(obj, dict) or not parts or parts[0] not in obj:
            return
        value = obj[parts[0]]
        if isinstance(value, str) and value in self.objects:
            obj[parts[0]] = value = copy.deepcopy(self.objects[value])
        if len(parts) > 1:
            self._expand(value, parts[1:])

    def _route_table(self) -> list[tuple[str, re.Pattern[str], Callable[..., Any]]]:
        def one(kind: str) -> Callable[..., Any]:
            return lambda p, object_id: self._get(kind, object_id)

        def listing(kind: str, url: str, *names: str) -> Callable[..., Any]:
            return lambda p: self.list_objects(kind, p, url, **{n: p.get(n) for n in names})

        def invoices(p: dict[str, Any]) -> dict[str, Any]:
            found = self.list_objects("invoice", p, "/v1/invoices", customer=p.get("customer"))
            if sub := p.get("subscription"):
                found["data"] = [i for i in found["data"] if i["parent"]["subscription_details"]["subscription"] == sub]
            return found

        table: list[tuple[str, str, Callable[..., Any]]] = [
            ("POST", "/v1/customers", self.create_customer),
            ("GET", "/v1/customers", listing("customer", "/v1/customers", "email")),
            ("GET", "/v1/customers/" + ID, one("customer")),
            ("POST", "/v1/customers/" + ID, lambda p, i: self.update_customer(self._get("customer", i), p)),
            ("POST", "/v1/products", self.create_product),
            ("GET", "/v1/products/" + ID, one("product")),
            ("POST", "/v1/prices", self.create_price),
            ("GET", "/v1/prices/" + ID, one("price")),
            ("POST", "/v1/payment_intents", self.create_payment_intent),
            ("GET", "/v1/payment_intents", listing("payment_intent", "/v1/payment_intents", "customer")),
            ("GET", "/v1/payment_intents/" + ID, one("payment_intent")),
            ("POST", "/v1/payment_intents/" + ID, lambda p, i: self.update_payment_intent(self._get("payment_intent", i), p)),
            ("POST", "/v1/payment_intents/" + ID + "/confirm",
             lambda p, i: self.confirm_payment_intent(self._get("payment_intent", i), p)),
            ("POST", "/v1/payment_intents/" + ID + "/cancel",
             lambda p, i: self.cancel_payment_intent(self._get("payment_intent", i), p)),
            ("POST", "/v1/checkout/sessions", self.create_checkout_session),
            ("GET", "/v1/checkout/sessions", listing("checkout.session", "/v1/checkout/sessions", "payment_intent",
                                                     "subscription", "customer")),
            ("GET", "/v1/checkout/sessions/" + ID, one("checkout.session")),
            ("POST", "/v1/checkout/sessions/" + ID + "/expire",
             lambda p, i: self.expire_checkout_session(self._get("checkout.session", i))),
            ("GET", "/v1/subscriptions", listing("subscription", "/v1/subscriptions", "customer", "status")),
            ("GET", "/v1/subscriptions/" + ID, one("subscription")),
            ("POST", "/v1/subscriptions/" + ID, lambda p, i: self.update_subscription(self._get("subscription", i), p)),
            ("DELETE", "/v1/subscriptions/" + ID, lambda p, i: self.cancel_subscription(self._get("subscription", i), p)),
            ("GET", "/v1/invoices", invoices),
            ("GET", "/v1/invoices/" + ID, one("invoice")),
            ("POST", "/v1/refunds", self.create_refund),
            ("GET", "/v1/refunds", listing("refund", "/v1/refunds", "payment_intent", "charge")),
            ("GET", "/v1/refunds/" + ID, one("refund")),
            ("GET", "/v1/charges", listing("charge", "/v1/charges", "customer", "payment_intent")),
            ("GET", "/v1/charges/" + ID, one("charge")),
            ("GET", "/v1/balance_transactions", listing("balance_transaction", "/v1/balance_transactions", "type", "source")),
            ("GET", "/v1/balance_transactions/" + ID, one("balance_transaction")),
            ("GET", "/v1/events", listing("event", "/v1/events", "type")),
            ("GET", "/v1/events/" + ID, one("event")),
        ]
        return [(method, re.compile(path), handler) for method, path, handler in table]

    # the payer's pages ----------------------------------------------------------------------
    @staticmethod
    def _money(amount: int, currency: str) -> str:
        return f"{amount} {currency.upper()}" if currency in ZERO_DECIMAL else f"{amount / 100:.2f} {currency.upper()}"

    def _checkout_page(self, req: RecordedRequest, session_id: str) -> Answer:
        with self._state:
            session = copy.deepcopy(self.objects.get(session_id))
        if session is None or session["object"] != "checkout.session":
            return self.page(title="Stripe Checkout", lines=["This Checkout Session does not exist."], action=None)
        is_open = session["status"] == "open"
        if req.method == "POST" and is_open and (decision := self.decision(req)):
            if decision == "approve":
                done = self.approve_checkout(session_id)
                return self.redirect(done["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id))
            self.decline_checkout(session_id)
            return self.redirect((session["cancel_url"] or f"/checkout/{session_id}").replace("{CHECKOUT_SESSION_ID}", session_id))
        lines = [f"Pay {self._money(session['amount_total'], session['currency'])}"
                 + (" per period (subscription)" if session["mode"] == "subscription" else ""),
                 f"Card: 4242 4242 4242 4242 (Approve) or a declined card (Decline). Session {session_id}"]
        if not is_open:
            lines.append(f"This session is {session['status']}.")
        return self.page(title="Stripe Checkout", lines=lines, action=f"/checkout/{session_id}" if is_open else None)

    def _intent_page(self, req: RecordedRequest, intent_id: str) -> Answer:
        with self._state:
            pi = copy.deepcopy(self.objects.get(intent_id))
            return_url = self._private.get(intent_id, {}).get("return_url")
        if pi is None or pi["object"] != "payment_intent":
            return self.page(title="Stripe", lines=["This payment does not exist."], action=None)
        is_open = pi["status"] in {"requires_action", "requires_payment_method", "requires_confirmation"}
        if req.method == "POST" and is_open and (decision := self.decision(req)):
            done = self.approve_payment(intent_id) if decision == "approve" else self.decline_payment(intent_id)
            if not return_url:
                return self.page(title="Stripe", lines=[f"Payment {done['status']}."], action=None)
            status = "succeeded" if done["status"] == "succeeded" else "failed"
            query = urlencode({"payment_intent": intent_id, "payment_intent_client_secret": pi["client_secret"],
                               "redirect_status": status})
            return self.redirect(f"{return_url}{'&' if '?' in return_url else '?'}{query}")
        lines = [f"Pay {self._money(pi['amount'], pi['currency'])}", f"PaymentIntent {intent_id}"]
        if not is_open:
            lines.append(f"This payment is {pi['status']}.")
        return self.page(title="Stripe", lines=lines, action=f"/pay/{intent_id}" if is_open else None)
