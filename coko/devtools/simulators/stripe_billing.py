"""The Stripe simulator's Checkout Sessions (mode ``payment`` and ``subscription``),
Subscriptions and their Invoices, including a renewal on demand (``advance_period``)."""

from __future__ import annotations

from typing import Any

from .stripe_api import CS_CREATE, StripeResources
from .stripe_forms import StripeError, add_interval, as_bool, as_int, check_params, metadata, missing, new_id


class StripeBilling(StripeResources):
    # checkout sessions ---------------------------------------------------------------
    def create_checkout_session(self, params: dict[str, Any]) -> dict[str, Any]:
        check_params(params, CS_CREATE)
        mode = params.get("mode")
        if not mode:
            raise missing("mode")
        if mode not in {"payment", "subscription"}:
            raise StripeError(400, f"The simulator supports mode payment and subscription, not {mode}.",
                              code="parameter_invalid_string", param="mode")
        if not params.get("success_url"):
            raise missing("success_url")
        items = params.get("line_items")
        if not isinstance(items, list) or not items:
            raise missing("line_items")
        lines = [self._line_item(i, item, mode) for i, item in enumerate(items)]
        currencies = {line["price"]["currency"] for line in lines}
        if len(currencies) > 1:
            raise StripeError(400, "All line items must use the same currency.", param="line_items")
        customer = self._get("customer", params["customer"], "customer")["id"] if params.get("customer") else None
        now, session_id = self._now(), new_id("cs_test_a1", 50)
        total = sum(line["amount_total"] for line in lines)
        session = self._store({
            "id": session_id, "object": "checkout.session", "amount_subtotal": total, "amount_total": total,
            "cancel_url": params.get("cancel_url"), "client_reference_id": params.get("client_reference_id"),
            "created": now, "currency": currencies.pop(), "customer": customer,
            "customer_details": None, "customer_email": params.get("customer_email"),
            "expires_at": as_int(params, "expires_at") or now + 24 * 3600, "invoice": None, "livemode": False,
            "locale": params.get("locale"), "metadata": metadata(params), "mode": mode, "payment_intent": None,
            "payment_method_types": ["card"], "payment_status": "unpaid", "status": "open", "subscription": None,
            "success_url": params["success_url"], "url": f"{self.url}/checkout/{session_id}"})
        self._private[session_id] = {"lines": lines,
                                     "pi_data": params.get("payment_intent_data") or {},
                                     "sub_data": params.get("subscription_data") or {}}
        return session

    def _line_item(self, index: int, item: Any, mode: str) -> dict[str, Any]:
        where = f"line_items[{index}]"
        if not isinstance(item, dict):
            raise StripeError(400, f"Invalid {where}", param=where)
        quantity = as_int(item, "quantity", minimum=1)
        if quantity is None:
            raise missing(f"{where}[quantity]")
        if item.get("price"):
            price = self._get("price", item["price"], f"{where}[price]")
        elif isinstance(item.get("price_data"), dict):
            data = dict(item["price_data"])
            if "product" not in data and "product_data" not in data:
                raise missing(f"{where}[price_data][product_data]")
            price = self.create_price(data)
        else:
            raise missing(f"{where}[price]")
        if mode == "payment" and price["recurring"]:
            raise StripeError(400, "You must be in `subscription` mode to specify a recurring price.", param=f"{where}[price]")
        if mode == "subscription" and not price["recurring"]:
            raise StripeError(400, "In subscription mode at least the price must be recurring (the simulator "
                              "accepts only recurring prices there).", param=f"{where}[price]")
        return {"id": new_id("li_"), "object": "item", "amount_total": price["unit_amount"] * quantity,
                "currency": price["currency"], "price": price, "quantity": quantity}

    def expire_checkout_session(self, session: dict[str, Any]) -> dict[str, Any]:
        if session["status"] != "open":
            raise StripeError(400, f"Only Checkout Sessions with a status in [\"open\"] can be expired. This session "
                              f"has status \"{session['status']}\".")
        session.update(status="expired")
        self._emit("checkout.session.expired", session)
        return session

    def complete_checkout(self, session: dict[str, Any], *, approve: bool) -> dict[str, Any]:
        """The payer pays (``approve``) or the card is declined (the session stays open)."""
        if session["status"] != "open":
            raise StripeError(400, f"This Checkout Session is {session['status']}.")
        private = self._private[session["id"]]
        if session["customer"] is None and (approve or session["mode"] == "subscription"):
            customer = self.create_customer({"email": session["customer_email"] or "payer@example.com"})
            session["customer"] = customer["id"]
        if not approve:
            if session["mode"] == "payment":
                pi = self._session_payment_intent(session, private)
                self._fail(pi, "pm_card_chargeDeclined")
            else:  # an incomplete subscription whose first invoice failed; the session stays open
                self._first_invoice_declined(session, private)
            return session
        email = self.objects[session["customer"]]["email"]
        session["customer_details"] = {"email": email, "name": None, "phone": None, "address": None, "tax_exempt": "none"}
        if session["mode"] == "payment":
            pi = self._succeed(self._session_payment_intent(session, private))
            session.update(payment_intent=pi["id"])
        else:
            if private.get("subscription"):  # another card after a decline: the same first invoice, paid
                subscription = self.objects[private["subscription"]]
                self._invoice_pay(self.objects[subscription["latest_invoice"]])
                previous = {"status": subscription["status"]}
                subscription["status"] = "active"
                self._emit("customer.subscription.updated", subscription, previous)
            else:
                subscription = self._subscription(session, private)
            session.update(subscription=subscription["id"], invoice=subscription["latest_invoice"])
        session.update(status="complete", payment_status="paid")
        self._emit("checkout.session.completed", session)
        return session

    def _session_payment_intent(self, session: dict[str, Any], private: dict[str, Any]) -> dict[str, Any]:
        if session["payment_intent"]:
            return self.objects[session["payment_intent"]]
        data = private["pi_data"]
        pi = self._payment_intent(amount=session["amount_total"], currency=session["currency"], customer=session["customer"],
                                  description=data.get("description"), meta=metadata(data))
        session["payment_intent"] = pi["id"]
        self._emit("payment_intent.created", pi)
        return pi

    # subscriptions and invoices ---------------------------------------------------------
    def _first_invoice_declined(self, session: dict[str, Any], private: dict[str, Any]) -> None:
        """The card is declined on a subscription's Checkout page: the subscription is
        ``incomplete``, its first invoice open with a failed payment (``invoice.payment_failed``,
        ``payment_intent.payment_failed``), and the payer may try another card."""
        if not private.get("subscription"):
            private["subscription"] = self._subscription(session, private, paid=False)["id"]
            return
        invoice = self.objects[self.objects[private["subscription"]]["latest_invoice"]]
        pi = self.objects[invoice["payments"]["data"][0]["payment"]["payment_intent"]]
        self._fail(pi, "pm_card_chargeDeclined")
        invoice["attempt_count"] += 1
        self._emit("invoice.payment_failed", invoice)

    def _subscription(self, session: dict[str, Any], private: dict[str, Any], *, paid: bool = True) -> dict[str, Any]:
        now, sub_id = self._now(), new_id("sub_")
        first = private["lines"][0]["price"]["recurring"]
        end = add_interval(now, first["interval"], first["interval_count"])
        items = [{"id": new_id("si_", 14), "object": "subscription_item", "created": now, "current_period_start": now,
                  "current_period_end": end, "metadata": {}, "price": line["price"], "quantity": line["quantity"],
                  "subscription": sub_id} for line in private["lines"]]
        subscription = self._store({
            "id": sub_id, "object": "subscription", "billing_cycle_anchor": now, "cancel_at": None,
            "cancel_at_period_end": False, "canceled_at": None, "collection_method": "charge_automatically",
            "created": now, "currency": session["currency"], "customer": session["customer"], "ended_at": None,
            "items": {"object": "list", "data": items, "has_more": False, "url": f"/v1/subscription_items?subscription={sub_id}"},
            "latest_invoice": None, "livemode": False, "metadata": metadata(private["sub_data"]), "start_date": now,
            "status": "active" if paid else "incomplete"})
        self._emit("customer.subscription.created", subscription)
        self._invoice(subscription, "subscription_create", now, end, paid=paid)
        return subscription

    def _invoice(self, subscription: dict[str, Any], reason: str, start: int, end: int, *, paid: bool) -> dict[str, Any]:
        amount = sum(i["price"]["unit_amount"] * i["quantity"] for i in subscription["items"]["data"])
        invoice_id = new_id("in_")
        pi = self._payment_intent(amount=amount, currency=subscription["currency"], customer=subscription["customer"],
                                  description="Subscription update" if reason == "subscription_cycle" else "Subscription creation",
                                  meta={})
        invoice = self._store({
            "id": invoice_id, "object": "invoice", "amount_due": amount, "amount_paid": 0, "amount_remaining": amount,
            "attempt_count": 1, "attempted": True, "billing_reason": reason, "collection_method": "charge_automatically",
            "created": self._now(), "currency": subscription["currency"], "customer": subscription["customer"],
            "hosted_invoice_url": f"{self.url}/invoices/{invoice_id}", "livemode": False,
            "lines": {"object": "list", "has_more": False, "url": f"/v1/invoices/{invoice_id}/lines", "data": [
                {"id": new_id("il_"), "object": "line_item", "amount": i["price"]["unit_amount"] * i["quantity"],
                 "currency": subscription["currency"], "period": {"start": start, "end": end},
                 "pricing": {"price_details": {"price": i["price"]["id"], "product": i["price"]["product"]}, "type": "price_details"},
                 "quantity": i["quantity"]} for i in subscription["items"]["data"]]},
            "metadata": {}, "next_payment_attempt": None, "number": f"SIM-{sum(o['object'] == 'invoice' for o in self.objects.values()) + 1:04d}",
            "parent": {"type": "subscription_details", "quote_details": None,
                       "subscription_details": {"metadata": dict(subscription["metadata"]), "subscription": subscription["id"]}},
            "payments": {"object": "list", "has_more": False, "url": f"/v1/invoice_payments?invoice={invoice_id}", "data": [
                {"object": "invoice_payment", "amount_paid": None, "invoice": invoice_id, "is_default": True,
                 "payment": {"type": "payment_intent", "payment_intent": pi["id"]}, "status": "open"}]},
            "period_end": end, "period_start": start, "status": "open", "subscription_details": None})
        subscription["latest_invoice"] = invoice_id
        self._emit("invoice.created", invoice)
        self._emit("invoice.finalized", invoice)
        if paid:
            self._invoice_pay(invoice)
        else:
            self._fail(pi, "pm_card_chargeDeclined")
            # a renewal is retried in a few days; a first invoice is not (the payer tries another card)
            invoice["next_payment_attempt"] = self._now() + 3 * 86400 if reason == "subscription_cycle" else None
            self._emit("invoice.payment_failed", invoice)
        return invoice

    def _invoice_pay(self, invoice: dict[str, Any]) -> None:
        self._succeed(self.objects[invoice["payments"]["data"][0]["payment"]["payment_intent"]])
        invoice.update(amount_paid=invoice["amount_due"], amount_remaining=0, status="paid", next_payment_attempt=None,
                       status_transitions={"paid_at": self._now()})
        invoice["payments"]["data"][0].update(amount_paid=invoice["amount_due"], status="paid")
        self._emit("invoice.paid", invoice)
        self._emit("invoice.payment_succeeded", invoice)

    def update_subscription(self, subscription: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        check_params(params, {"cancel_at_period_end", "metadata", "description", "proration_behavior"})
        previous: dict[str, Any] = {}
        flag = as_bool(params, "cancel_at_period_end")
        if flag is not None and flag != subscription["cancel_at_period_end"]:
            if subscription["status"] == "canceled":
                raise StripeError(400, "A canceled subscription can only update its cancellation_details and metadata.")
            previous.update(cancel_at_period_end=subscription["cancel_at_period_end"], cancel_at=subscription["cancel_at"],
                            canceled_at=subscription["canceled_at"])
            end = subscription["items"]["data"][0]["current_period_end"]
            subscription.update(cancel_at_period_end=flag, cancel_at=end if flag else None,
                                canceled_at=self._now() if flag else None)
        if "metadata" in params:
            previous["metadata"] = dict(subscription["metadata"])
            subscription["metadata"] = metadata(params, subscription["metadata"])
        if previous:
            self._emit("customer.subscription.updated", subscription, previous)
        return subscription

    def cancel_subscription(self, subscription: dict[str, Any], params: dict[str, Any] | None = None) -> dict[str, Any]:
        check_params(params or {}, {"invoice_now", "prorate", "cancellation_details"})
        if subscription["status"] == "canceled":
            raise StripeError(404, f"No such subscription: '{subscription['id']}'", code="resource_missing", param="id")
        now = self._now()
        subscription.update(status="canceled", canceled_at=subscription["canceled_at"] or now, ended_at=now)
        self._emit("customer.subscription.deleted", subscription)
        return subscription

    def renew(self, subscription: dict[str, Any], *, fail: bool) -> dict[str, Any] | None:
        """The next period begins: a paid (or failed) invoice, or, for a subscription set to
        cancel at period end, its end (``customer.subscription.deleted``; returns None)."""
        if subscription["status"] == "canceled":
            raise StripeError(400, f"Subscription {subscription['id']} is canceled.")
        items = subscription["items"]["data"]
        start = items[0]["current_period_end"]
        if subscription["cancel_at_period_end"]:
            subscription.update(status="canceled", ended_at=start)
            self._emit("customer.subscription.deleted", subscription)
            return None
        recurring = items[0]["price"]["recurring"]
        end = add_interval(start, recurring["interval"], recurring["interval_count"])
        previous = {"items": {"data": [{"current_period_start": i["current_period_start"],
                                        "current_period_end": i["current_period_end"]} for i in items]},
                    "latest_invoice": subscription["latest_invoice"], "status": subscription["status"]}
        for item in items:
            item.update(current_period_start=start, current_period_end=end)
        invoice = self._invoice(subscription, "subscription_cycle", start, end, paid=not fail)
        subscription["status"] = "past_due" if fail else "active"
        self._emit("customer.subscription.updated", subscription, previous)
        return invoice
