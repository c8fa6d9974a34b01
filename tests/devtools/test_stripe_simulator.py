"""The Stripe simulator is driven by the real ``stripe`` package: PaymentIntents, Checkout
Sessions in payment and subscription mode, renewals, refunds, events, reconciliation lists,
Stripe's error shape and idempotent replays; its webhooks pass
``stripe.Webhook.construct_event``."""

from __future__ import annotations

import json
import time

import httpx
import pytest
import stripe

from coko.devtools.simulators import StripeSimulator


@pytest.fixture
def sim(receiver):
    with StripeSimulator(webhook_url=f"{receiver.url}/api/v1/payment/webhooks/stripe") as s:
        yield s


@pytest.fixture
def client(sim):
    return stripe.StripeClient(sim.secret_key, base_addresses={"api": sim.url}, max_network_retries=0)


def events(sim, receiver) -> list[stripe.Event]:
    """Every webhook the receiver got, each verified as Coko will verify it."""
    return [stripe.Webhook.construct_event(r.body, r.headers["stripe-signature"], sim.webhook_secret)
            for r in receiver.requests]


def month_pass(**extra):
    return {"mode": "subscription", "success_url": "https://coko.test/ok?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://coko.test/cancel", "line_items": [{"quantity": 1, "price_data": {
                "currency": "XOF", "unit_amount": 3000, "product_data": {"name": "Mois"},
                "recurring": {"interval": "month"}}}], **extra}


def test_a_payment_intent_in_xof_is_zero_decimal_and_lowercase(client):
    intent = client.v1.payment_intents.create(params={"amount": 1500, "currency": "XOF", "metadata": {"order": "42"}})
    assert intent.id.startswith("pi_") and intent.client_secret.startswith(f"{intent.id}_secret_")
    assert (intent.amount, intent.currency, intent.status) == (1500, "xof", "requires_payment_method")
    assert client.v1.payment_intents.retrieve(intent.id).metadata["order"] == "42"
    paid = client.v1.payment_intents.confirm(intent.id, params={"payment_method": "pm_card_visa",
                                                                "expand": ["latest_charge.balance_transaction"]})
    assert paid.status == "succeeded" and paid.amount_received == 1500
    assert paid.latest_charge.balance_transaction.amount == 1500  # not 150 000: XOF has no cents


def test_errors_have_stripe_s_shape(client, sim):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.create(params={"currency": "xof"})
    assert (missing.value.code, missing.value.param) == ("parameter_missing", "amount")
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.payment_intents.create(params={"amount": 1, "currency": "xof", "colour": "red"})
    assert unknown.value.code == "parameter_unknown"
    with pytest.raises(stripe.InvalidRequestError, match="Invalid currency"):
        client.v1.payment_intents.create(params={"amount": 1, "currency": "zzz"})
    with pytest.raises(stripe.InvalidRequestError) as absent:
        client.v1.payment_intents.retrieve("pi_nope")
    assert absent.value.http_status == 404 and absent.value.code == "resource_missing"
    with pytest.raises(stripe.AuthenticationError):
        stripe.StripeClient("sk_test_wrong", base_addresses={"api": sim.url}).v1.customers.create()
    with pytest.raises(stripe.CardError) as declined:
        client.v1.payment_intents.create(params={"amount": 500, "currency": "eur", "confirm": True,
                                                 "payment_method": "pm_card_chargeDeclined"})
    assert declined.value.code == "card_declined" and declined.value.http_status == 402


def test_an_idempotency_key_replays_the_first_answer_and_refuses_other_parameters(sim):
    http = httpx.Client(base_url=sim.url, headers={"Authorization": f"Bearer {sim.secret_key}"})
    first = http.post("/v1/payment_intents", data={"amount": "1500", "currency": "xof"}, headers={"Idempotency-Key": "k1"})
    again = http.post("/v1/payment_intents", data={"amount": "1500", "currency": "xof"}, headers={"Idempotency-Key": "k1"})
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    expanded = {"amount": "900", "currency": "xof", "expand[0]": "customer"}
    assert http.post("/v1/payment_intents", data=expanded, headers={"Idempotency-Key": "k3"}).status_code == 200
    replayed = http.post("/v1/payment_intents", data=expanded, headers={"Idempotency-Key": "k3"})
    assert replayed.headers["idempotent-replayed"] == "true"  # expand[] is part of the parameters compared
    other = http.post("/v1/payment_intents", data={"amount": "2000", "currency": "xof"}, headers={"Idempotency-Key": "k1"})
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"
    with pytest.raises(stripe.IdempotencyError):
        stripe.StripeClient(sim.secret_key, base_addresses={"api": sim.url}).v1.payment_intents.create(
            params={"amount": 2000, "currency": "xof"}, options={"idempotency_key": "k1"})

    sim.stall_next()  # the intent is created but the answer is lost: the retry gets the same one
    with pytest.raises(httpx.ReadTimeout):
        http.post("/v1/payment_intents", data={"amount": "700", "currency": "xof"}, headers={"Idempotency-Key": "k2"},
                  timeout=0.3)
    sim.release_stalled()
    retried = http.post("/v1/payment_intents", data={"amount": "700", "currency": "xof"}, headers={"Idempotency-Key": "k2"})
    assert retried.headers["idempotent-replayed"] == "true"
    assert [o["amount"] for o in sim.objects.values() if o["object"] == "payment_intent"] == [1500, 900, 700]


def test_checkout_in_payment_mode_over_the_page_sends_verified_events(client, sim, receiver):
    session = client.v1.checkout.sessions.create(params={
        "mode": "payment", "success_url": "https://coko.test/ok?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://coko.test/cancel", "client_reference_id": "order-42",
        "line_items": [{"quantity": 2, "price_data": {"currency": "xof", "unit_amount": 500,
                                                      "product_data": {"name": "Pass jour"}}}]})
    assert session.url == f"{sim.url}/checkout/{session.id}" and session.amount_total == 1000
    page = httpx.get(session.url)
    assert page.status_code == 200 and "simulator" in page.text and "1000 XOF" in page.text
    answer = httpx.post(session.url, data={"decision": "approve"})
    assert answer.status_code == 303 and answer.headers["location"] == f"https://coko.test/ok?session={session.id}"

    received = events(sim, receiver)
    assert [e.type for e in received] == ["customer.created", "payment_intent.created", "charge.succeeded",
                                          "payment_intent.succeeded", "checkout.session.completed"]
    completed = received[-1].data.object
    assert completed.client_reference_id == "order-42" and completed.payment_status == "paid"
    assert client.v1.events.retrieve(received[-1].id).data.object.id == session.id
    done = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["payment_intent"]})
    assert done.status == "complete" and done.payment_intent.amount_received == 1000


def test_a_declined_checkout_stays_open_and_sends_the_payer_to_cancel_url(client, sim, receiver):
    session = client.v1.checkout.sessions.create(params=month_pass())
    answer = httpx.post(session.url, data={"decision": "decline"})
    assert answer.headers["location"] == "https://coko.test/cancel"
    assert client.v1.checkout.sessions.retrieve(session.id).status == "open"
    # as at Stripe: an incomplete subscription whose first invoice failed (the payer may try another card)
    subscription = next(o for o in sim.objects.values() if o["object"] == "subscription")
    assert subscription["status"] == "incomplete"
    invoice = client.v1.invoices.retrieve(subscription["latest_invoice"])
    assert (invoice.status, invoice.billing_reason, invoice.next_payment_attempt) == ("open", "subscription_create", None)
    client.v1.checkout.sessions.expire(session.id)
    kinds = [e.type for e in events(sim, receiver)]
    assert {"customer.subscription.created", "invoice.payment_failed", "payment_intent.payment_failed"} <= set(kinds)
    assert kinds[-1] == "checkout.session.expired" and "checkout.session.completed" not in kinds


def test_a_subscription_renews_fails_and_ends_at_period_end(client, sim, receiver):
    session = sim.approve_checkout(client.v1.checkout.sessions.create(params=month_pass()).id)
    subscription = client.v1.subscriptions.retrieve(session["subscription"])
    item = subscription["items"].data[0]
    assert subscription.status == "active" and item.current_period_end > item.current_period_start

    invoice = sim.advance_period(subscription.id)
    assert (invoice["status"], invoice["billing_reason"], invoice["amount_paid"]) == ("paid", "subscription_cycle", 3000)
    assert invoice["parent"]["subscription_details"]["subscription"] == subscription.id
    renewed = client.v1.subscriptions.retrieve(subscription.id)["items"].data[0]
    assert renewed.current_period_start == item.current_period_end

    failed = sim.advance_period(subscription.id, fail=True)
    assert failed["status"] == "open" and client.v1.subscriptions.retrieve(subscription.id).status == "past_due"

    client.v1.subscriptions.update(subscription.id, params={"cancel_at_period_end": True})
    assert sim.advance_period(subscription.id) is None
    assert client.v1.subscriptions.retrieve(subscription.id).status == "canceled"
    types = [e.type for e in events(sim, receiver)]
    for expected in ("customer.subscription.created", "invoice.paid", "invoice.payment_failed",
                     "customer.subscription.updated", "customer.subscription.deleted", "checkout.session.completed"):
        assert expected in types
    assert types.index("invoice.payment_failed") > types.index("invoice.paid")


def test_a_subscription_cancelled_now(client, sim, receiver):
    session = sim.approve_checkout(client.v1.checkout.sessions.create(params=month_pass()).id)
    cancelled = client.v1.subscriptions.cancel(session["subscription"])
    assert cancelled.status == "canceled" and events(sim, receiver)[-1].type == "customer.subscription.deleted"


def test_a_payment_intent_confirmed_through_the_page(client, sim):
    intent = client.v1.payment_intents.create(params={"amount": 2500, "currency": "eur"})
    waiting = client.v1.payment_intents.confirm(intent.id, params={"return_url": "https://coko.test/back"})
    assert waiting.status == "requires_action" and waiting.next_action.type == "redirect_to_url"
    page = waiting.next_action.redirect_to_url.url
    assert "25.00 EUR" in httpx.get(page).text
    declined = httpx.post(page, data={"decision": "decline"})
    assert declined.headers["location"].endswith("redirect_status=failed")
    approved = httpx.post(page, data={"decision": "approve"})
    assert "redirect_status=succeeded" in approved.headers["location"]
    assert f"payment_intent={intent.id}" in approved.headers["location"]
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_refunds_reverse_the_charge_and_appear_in_the_balance(client, sim, receiver):
    intent = client.v1.payment_intents.create(params={"amount": 3000, "currency": "xof", "confirm": True,
                                                      "payment_method": "pm_card_visa"})
    part = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1000, "reason": "requested_by_customer"})
    assert (part.status, part.amount, part.currency) == ("succeeded", 1000, "xof")
    with pytest.raises(stripe.InvalidRequestError) as too_much:
        client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 2001})
    assert too_much.value.code == "amount_too_large"
    client.v1.refunds.create(params={"payment_intent": intent.id})
    with pytest.raises(stripe.InvalidRequestError) as twice:
        client.v1.refunds.create(params={"payment_intent": intent.id})
    assert twice.value.code == "charge_already_refunded"
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert charge.refunded is True and charge.amount_refunded == 3000
    balance = client.v1.balance_transactions.list(params={"limit": 10}).data
    assert sorted((t.type, t.amount) for t in balance) == [("charge", 3000), ("refund", -2000), ("refund", -1000)]
    assert [e.type for e in events(sim, receiver)].count("charge.refunded") == 2


def test_lists_page_newest_first_and_filter_by_creation_time(client, sim):
    created = [client.v1.payment_intents.create(params={"amount": a, "currency": "xof", "confirm": True,
                                                        "payment_method": "pm_card_visa"}) for a in (100, 200, 300)]
    first = client.v1.charges.list(params={"limit": 2})
    assert [c.amount for c in first.data] == [300, 200] and first.has_more
    rest = client.v1.charges.list(params={"limit": 2, "starting_after": first.data[-1].id})
    assert [c.amount for c in rest.data] == [100] and not rest.has_more
    future = int(time.time()) + 3600
    assert client.v1.charges.list(params={"created": {"gte": future}}).data == []
    assert len(client.v1.charges.list(params={"payment_intent": created[0].id}).data) == 1


def test_webhooks_duplicated_reordered_and_forged(client, sim, receiver):
    sim.webhooks.duplicate_next()
    client.v1.customers.create(params={"email": "awa@example.sn"})
    first, second = events(sim, receiver)
    assert first.id == second.id

    sim.webhooks.hold()
    client.v1.customers.create(params={"email": "one@example.sn"})
    client.v1.customers.create(params={"email": "two@example.sn"})
    sim.webhooks.release(reverse=True)
    assert [e.data.object.email for e in events(sim, receiver)[2:]] == ["two@example.sn", "one@example.sn"]

    hook = receiver.requests[-1]
    forged = json.dumps({**json.loads(hook.body), "type": "invoice.paid"}).encode()
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(forged, hook.headers["stripe-signature"], sim.webhook_secret)
    sim.clock.advance(-600)  # a signature made ten minutes ago is outside Stripe's tolerance
    stale = sim.sign(hook.body, int(sim.clock.now()))["Stripe-Signature"]
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(hook.body, stale, sim.webhook_secret)


def test_the_module_level_api_base_works_too(sim, monkeypatch):
    monkeypatch.setattr(stripe, "api_key", sim.secret_key)
    monkeypatch.setattr(stripe, "api_base", sim.url)
    customer = stripe.Customer.create(email="awa@example.sn", metadata={"user": "7"})
    assert stripe.Customer.retrieve(customer.id).metadata["user"] == "7"
