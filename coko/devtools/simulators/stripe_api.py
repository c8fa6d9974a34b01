"""The Stripe simulator's objects and what changes them (PaymentIntents, Checkout Sessions,
Customers, Products, Prices, Subscriptions, Invoices, Charges, Refunds, balance transactions).

Objects are plain dicts in Stripe's shape for the pinned API version (subscription periods
on the subscription items, an invoice's subscription under ``parent.subscription_details``);
every change that Stripe announces appends an event (``_emit``), sent once the state lock is
released. A charge's fee is 2.9 % (rounded up) in the charge's currency, XOF and XAF being
zero-decimal as at Stripe.
"""

from __future__ import annotations

import copy
from typing import Any

from .stripe_forms import (
    StripeError,
    add_interval,
    as_bool,
    as_currency,
    as_int,
    check_params,
    metadata,
    missing,
    new_id,
    no_such,
)

DECLINING = {"pm_card_chargeDeclined": "generic_decline", "pm_card_visa_chargeDeclined": "generic_decline",
             "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds"}
PI_CREATE = {"amount", "currency", "customer", "description", "metadata", "payment_method_types",
             "automatic_payment_methods", "receipt_email", "statement_descriptor", "statement_descriptor_suffix",
             "capture_method", "confirm", "payment_method", "return_url", "setup_future_usage", "off_session",
             "confirmation_method", "payment_method_options", "shipping"}
CS_CREATE = {"mode", "line_items", "success_url", "cancel_url", "client_reference_id", "customer", "customer_email",
             "metadata", "payment_intent_data", "subscription_data", "locale", "payment_method_types", "expires_at",
             "currency", "allow_promotion_codes", "billing_address_collection", "customer_creation", "ui_mode",
             "return_url", "submit_type", "phone_number_collection", "invoice_creation"}


class StripeResources:
    """State and operations; ``StripeSimulator`` adds HTTP, idempotency and webhooks."""

    def _init_resources(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}  # every object by id, in creation order
        self._outgoing: list[dict[str, Any]] = []  # events waiting for the lock to be released
        self._private: dict[str, dict[str, Any]] = {}  # what Stripe keeps but does not show (line items, return URLs)

    # helpers ---------------------------------------------------------------------
    def _now(self) -> int:
        return int(self.clock.now())

    def _store(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[obj["id"]] = obj
        return obj

    def _get(self, kind: str, object_id: str, param: str = "id") -> dict[str, Any]:
        obj = self.objects.get(object_id)
        if obj is None or obj["object"] != kind:
            raise no_such(kind, object_id, param)
        return obj

    def _emit(self, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = previous
        event = {"id": new_id("evt_"), "object": "event", "api_version": self.api_version, "created": self._now(),
                 "data": data, "livemode": False, "pending_webhooks": 1,
                 "request": {"id": None, "idempotency_key": None}, "type": event_type}
        self._store(event)
        self._outgoing.append(event)
        return event

    def list_objects(self, kind: str, params: dict[str, Any], url: str, **filters: Any) -> dict[str, Any]:
        """A Stripe list, newest first: ``limit`` (10, at most 100), ``starting_after``,
        ``created[gte|gt|lte|lt]`` and equality ``filters`` (None: not filtered)."""
        limit = as_int(params, "limit", minimum=1) or 10
        items = [o for o in self.objects.values() if o["object"] == kind
                 and all(v is None or o.get(k) == v for k, v in filters.items())]
        created = params.get("created")
        if isinstance(created, dict):
            bounds = {op: as_int(created, op) for op in ("gte", "gt", "lte", "lt")}
            items = [o for o in items if (bounds["gte"] is None or o["created"] >= bounds["gte"])
                     and (bounds["gt"] is None or o["created"] > bounds["gt"])
                     and (bounds["lte"] is None or o["created"] <= bounds["lte"])
                     and (bounds["lt"] is None or o["created"] < bounds["lt"])]
        elif created:
            items = [o for o in items if o["created"] == as_int(params, "created")]
        items.reverse()  # newest first (creation order breaks ties within a second)
        if after := params.get("starting_after"):
            ids = [o["id"] for o in items]
            if after not in ids:
                raise no_such(kind, after, "starting_after")
            items = items[ids.index(after) + 1:]
        return {"object": "list", "data": items[:min(limit, 100)], "has_more": len(items) > limit, "url": url}

    # customers, products, prices ---------------------------------------------------
    def create_customer(self, params: dict[str, Any]) -> dict[str, Any]:
        check_params(params, {"email", "name", "phone", "description", "metadata", "preferred_locales"})
        customer = {"id": new_id("cus_", 14), "object": "customer", "created": self._now(), "email": params.get("email"),
                    "name": params.get("name"), "phone": params.get("phone"), "description": params.get("description"),
                    "metadata": metadata(params), "livemode": False, "currency": None, "delinquent": False}
        self._store(customer)
        self._emit("customer.created", customer)
        return customer

    def update_customer(self, customer: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        check_params(params, {"email", "name", "phone", "description", "metadata"})
        previous = {k: customer[k] for k in params if k in customer}
        customer.update({k: params[k] for k in ("email", "name", "phone", "description") if k in params})
        customer["metadata"] = metadata(params, customer["metadata"])
        self._emit("customer.updated", customer, previous)
        return customer

    def create_product(self, params: dict[str, Any]) -> dict[str, Any]:
        check_params(params, {"name", "description", "metadata", "active", "id"})
        if not params.get("name"):
            raise missing("name")
        product = {"id": params.get("id") or new_id("prod_", 14), "object": "product", "active": as_bool(params, "active") is not False,
                   "created": self._now(), "description": params.get("description"), "livemode": False,
                   "metadata": metadata(params), "name": params["name"]}
        return self._store(product)

    def create_price(self, params: dict[str, Any]) -> dict[str, Any]:
        check_params(params, {"currency", "unit_amount", "product", "product_data", "recurring", "metadata",
                              "nickname", "lookup_key", "active"})
        currency = as_currency(params)
        amount = as_int(params, "unit_amount", required=True, minimum=0)
        if params.get("product"):
            product = self._get("product", params["product"], "product")["id"]
        elif isinstance(params.get("product_data"), dict):
            product = self.create_product(params["product_data"])["id"]
        else:
            raise missing("product")
        recurring = params.get("recurring")
        if recurring is not None:
            if not isinstance(recurring, dict) or recurring.get("interval") not in {"day", "week", "month", "year"}:
                raise StripeError(400, "Invalid recurring[interval]", code="parameter_invalid_string", param="recurring[interval]")
            recurring = {"interval": recurring["interval"], "interval_count": as_int(recurring, "interval_count", minimum=1) or 1,
                         "usage_type": "licensed"}
        price = {"id": new_id("price_"), "object": "price", "active": True, "created": self._now(), "currency": currency,
                 "livemode": False, "lookup_key": params.get("lookup_key"), "metadata": metadata(params),
                 "nickname": params.get("nickname"), "product": product, "recurring": recurring,
                 "type": "recurring" if recurring else "one_time", "unit_amount": amount}
        return self._store(price)

    # charges and money ---------------------------------------------------------------
    def _charge(self, pi: dict[str, Any], payment_method: str) -> dict[str, Any]:
        now, amount, currency = self._now(), pi["amount"], pi["currency"]
        fee = (amount * 29 + 999) // 1000
        charge_id = new_id("ch_")
        txn = self._store({"id": new_id("txn_"), "object": "balance_transaction", "amount": amount,
                           "available_on": now + 2 * 86400, "created": now, "currency": currency,
                           "description": pi["description"], "exchange_rate": None, "fee": fee,
                           "fee_details": [{"amount": fee, "currency": currency, "description": "Stripe processing fees",
                                            "type": "stripe_fee"}],
                           "net": amount - fee, "reporting_category": "charge", "source": charge_id,
                           "status": "pending", "type": "charge"})
        charge = self._store({
            "id": charge_id, "object": "charge", "amount": amount, "amount_captured": amount, "amount_refunded": 0,
            "balance_transaction": txn["id"], "captured": True, "created": now, "currency": currency,
            "customer": pi["customer"], "description": pi["description"], "failure_code": None,
            "failure_message": None, "livemode": False, "metadata": dict(pi["metadata"]),
            "outcome": {"network_status": "approved_by_network", "reason": None, "risk_level": "normal",
                        "seller_message": "Payment complete.", "type": "authorized"},
            "paid": True, "payment_intent": pi["id"], "payment_method": payment_method,
            "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242", "country": "SN",
                                                                "exp_month": 12, "exp_year": 2034, "funding": "credit"}},
            "receipt_email": pi.get("receipt_email"), "receipt_url": f"{self.url}/receipts/{charge_id}",
            "refunded": False, "status": "succeeded"})
        return charge

    def _payment_intent(self, *, amount: int, currency: str, customer: str | None, description: str | None,
                        meta: dict[str, str], receipt_email: str | None = None) -> dict[str, Any]:
        pi_id = new_id("pi_")
        return self._store({
            "id": pi_id, "object": "payment_intent", "amount": amount, "amount_capturable": 0, "amount_received": 0,
            "automatic_payment_methods": None, "canceled_at": None, "cancellation_reason": None,
            "capture_method": "automatic_async", "client_secret": f"{pi_id}_secret_{new_id('', 25)}",
            "confirmation_method": "automatic", "created": self._now(), "currency": currency, "customer": customer,
            "description": description, "last_payment_error": None, "latest_charge": None, "livemode": False,
            "metadata": meta, "next_action": None, "payment_method": None, "payment_method_types": ["card"],
            "receipt_email": receipt_email, "setup_future_usage": None, "status": "requires_payment_method"})

    def _succeed(self, pi: dict[str, Any], payment_method: str = "pm_card_visa") -> dict[str, Any]:
        charge = self._charge(pi, payment_method)
        pi.update(status="succeeded", amount_received=pi["amount"], latest_charge=charge["id"],
                  payment_method=payment_method, next_action=None, last_payment_error=None)
        self._emit("charge.succeeded", charge)
        self._emit("payment_intent.succeeded", pi)
        return pi

    def _fail(self, pi: dict[str, Any], payment_method: str, decline_code: str = "generic_decline") -> StripeError:
        message = "Your card has insufficient funds." if decline_code == "insufficient_funds" else "Your card was declined."
        pi.update(status="requires_payment_method", payment_method=None, next_action=None,
                  last_payment_error={"type": "card_error", "code": "card_declined", "decline_code": decline_code,
                                      "message": message, "payment_method": {"id": payment_method, "object": "payment_method", "type": "card"}})
        self._emit("payment_intent.payment_failed", pi)
        return StripeError(402, message, type="card_error", code="card_declined", decline_code=decline_code,
                           payment_intent=copy.deepcopy(pi))

    # payment intents -----------------------------------------------------------------
    def create_payment_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        check_params(params, PI_CREATE)
        amount = as_int(params, "amount", required=True, minimum=1)
        currency = as_currency(params)
        customer = self._get("customer", params["customer"], "customer")["id"] if params.get("customer") else None
        pi = self._payment_intent(amount=amount, currency=currency, customer=customer, description=params.get("description"),
                                  meta=metadata(params), receipt_email=params.get("receipt_email"))
        if params.get("payment_method"):
            pi.update(payment_method=params["payment_method"], status="requires_confirmation")
        self._emit("payment_intent.created", pi)
        if as_bool(params, "confirm"):
            return self.confirm_payment_intent(pi, {k: params[k] for k in ("payment_method", "return_url") if k in params})
        return pi

    def update_payment_intent(self, pi: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        check_params(params, {"amount", "currency", "customer", "description", "metadata", "receipt_email", "payment_method"})
        if pi["status"] in {"succeeded", "canceled"} and set(params) - {"metadata", "description", "expand"}:
            raise StripeError(400, f"This PaymentIntent's status is {pi['status']}, it cannot be updated.",
                              code="payment_intent_unexpected_state")
        if "amount" in params:
            pi["amount"] = as_int(params, "amount", minimum=1)
        if "currency" in params:
            pi["currency"] = as_currency(params)
        pi.update({k: params[k] for k in ("description", "receipt_email", "payment_method") if k in params})
        if params.get("customer"):
            pi["customer"] = self._get("customer", params["customer"], "customer")["id"]
        pi["metadata"] = metadata(params, pi["metadata"])
        return pi

    def confirm_payment_intent(self, pi: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        """``payment_method`` pm_card_visa (or any pm_…) succeeds, pm_card_chargeDeclined… is
        declined (402); with no payment method but a ``return_url`` the payer is sent to the
        simulator's page (``next_action.redirect_to_url``)."""
        check_params(params, {"payment_method", "return_url", "receipt_email", "off_session", "payment_method_types",
                              "setup_future_usage", "payment_method_options", "mandate_data"})
        if pi["status"] not in {"requires_payment_method", "requires_confirmation", "requires_action"}:
            raise StripeError(400, f"You cannot confirm this PaymentIntent because it has a status of {pi['status']}.",
                              code="payment_intent_unexpected_state", param=None)
        method = params.get("payment_method") or pi["payment_method"]
        if params.get("return_url"):
            self._private.setdefault(pi["id"], {})["return_url"] = params["return_url"]
        if not method:
            if not params.get("return_url"):
                raise StripeError(400, "You cannot confirm this PaymentIntent because it's missing a payment method.",
                                  code="payment_intent_unexpected_state", param="payment_method")
            pi.update(status="requires_action", next_action={"type": "redirect_to_url", "redirect_to_url": {
                "url": f"{self.url}/pay/{pi['id']}", "return_url": params["return_url"]}})
            self._emit("payment_intent.requires_action", pi)
            return pi
        if method in DECLINING:
            raise self._fail(pi, method, DECLINING[method])
        return self._succeed(pi, method)

    def cancel_payment_intent(self, pi: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        check_params(params, {"cancellation_reason"})
        if pi["status"] in {"succeeded", "canceled"}:
            raise StripeError(400, f"You cannot cancel this PaymentIntent because it has a status of {pi['status']}. "
                              "Only a PaymentIntent with one of the following statuses may be canceled: "
                              "requires_payment_method, requires_capture, requires_confirmation, requires_action, processing.",
                              code="payment_intent_unexpected_state")
        pi.update(status="canceled", canceled_at=self._now(), cancellation_reason=params.get("cancellation_reason"),
                  next_action=None)
        self._emit("payment_intent.canceled", pi)
        return pi

    # refunds ---------------------------------------------------------------------------
    def create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        check_params(params, {"payment_intent", "charge", "amount", "reason", "metadata", "instructions_email"})
        if params.get("payment_intent"):
            pi = self._get("payment_intent", params["payment_intent"], "payment_intent")
            if not pi["latest_charge"] or pi["status"] != "succeeded":
                raise StripeError(400, f"This PaymentIntent ({pi['id']}) does not have a successful charge to refund.",
                                  code="charge_not_refundable", param="payment_intent")
            charge = self.objects[pi["latest_charge"]]
        elif params.get("charge"):
            charge = self._get("charge", params["charge"], "charge")
        else:
            raise StripeError(400, "One of the following params should be provided for this request: payment_intent or charge.",
                              code="parameter_missing")
        if params.get("reason") not in (None, "duplicate", "fraudulent", "requested_by_customer"):
            raise StripeError(400, f"Invalid reason: {params['reason']}", code="parameter_invalid_string", param="reason")
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining == 0:
            raise StripeError(400, f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded")
        amount = as_int(params, "amount", minimum=1) or remaining
        if amount > remaining:
            raise StripeError(400, f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
                              code="amount_too_large", param="amount")
        now, refund_id = self._now(), new_id("re_")
        txn = self._store({"id": new_id("txn_"), "object": "balance_transaction", "amount": -amount,
                           "available_on": now, "created": now, "currency": charge["currency"], "description": "REFUND FOR CHARGE",
                           "exchange_rate": None, "fee": 0, "fee_details": [], "net": -amount, "reporting_category": "refund",
                           "source": refund_id, "status": "available", "type": "refund"})
        refund = self._store({"id": refund_id, "object": "refund", "amount": amount, "balance_transaction": txn["id"],
                              "charge": charge["id"], "created": now, "currency": charge["currency"],
                              "metadata": metadata(params), "payment_intent": charge["payment_intent"],
                              "reason": params.get("reason"), "status": "succeeded"})
        previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self._emit("refund.created", refund)
        self._emit("charge.refunded", charge, previous)
        return refund
