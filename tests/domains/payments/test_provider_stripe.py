"""Stripe (cards) end to end over loopback with the real ``stripe`` package: Checkout Sessions
(a book: mode=payment; a pass: mode=subscription), signed events through Coko's webhook route,
the worker's status fetch; a card pass's renewals, failed renewal (grace) and end."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coko.devtools.testing.events import outbox_events
from coko.domains.payments import api, contracts, services
from coko.domains.payments.models import Flag, Order, Payment, ProviderEvent, Purchase, Receipt, Subscription

from .simulated import work_off

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def _session(order_id):
    return Payment.objects.get(order_id=order_id).provider_ref


def _buy(reader, book):
    answer = reader.post("/payment/purchase", {"book_id": book["id"], "provider": "stripe"})
    assert answer.status_code == 201, answer.data
    return answer.data


def test_a_reader_buys_a_book_by_card(reader, book_for_sale, stripe_sim, webhooks):
    order = _buy(reader, book_for_sale)
    assert order["payment"]["redirect_url"] == f"{stripe_sim.url}/checkout/{_session(order['id'])}"
    stripe_sim.approve_checkout(_session(order["id"]))
    assert set(webhooks.statuses()) == {200}  # charge.*, payment_intent.*, customer.*: acknowledged
    assert [r.json()["received"] for r in webhooks.answers].count("stored") == 1
    work_off()
    assert reader.get(f"/payment/orders/{order['id']}").data["status"] == "paid"
    assert api.has_access(user_id=reader.user_id, book_id=book_for_sale["id"]).reason == "purchase"


def test_a_declined_card_cancels_the_order_and_expires_the_session(reader, book_for_sale, stripe_sim):
    order = _buy(reader, book_for_sale)
    stripe_sim.decline_checkout(_session(order["id"]))
    work_off()
    assert Order.objects.get(id=order["id"]).status == "cancelled"
    assert Payment.objects.get().failure == "generic_decline"
    assert stripe_sim.get(_session(order["id"]))["status"] == "expired"


@pytest.mark.parametrize("forgery", ["signature", "replay"])
def test_forged_or_replayed_events_are_rejected(reader, book_for_sale, stripe_sim, webhooks, forgery):
    order = _buy(reader, book_for_sale)
    if forgery == "signature":
        stripe_sim.webhook_secret = "whsec_someone_else"
    else:
        stripe_sim.clock.advance(-600)
    stripe_sim.approve_checkout(_session(order["id"]))
    assert set(webhooks.rejections()) == {"signature_mismatch" if forgery == "signature" else "signature_too_old"}
    assert not ProviderEvent.objects.exists() and work_off() == []


def test_an_amount_that_differs_is_flagged_and_not_granted(reader, book_for_sale, stripe_sim):
    order = _buy(reader, book_for_sale)
    stripe_sim.objects[_session(order["id"])]["amount_total"] = 15
    stripe_sim.approve_checkout(_session(order["id"]))
    work_off()
    assert Flag.objects.get().kind == "amount_mismatch" and not Purchase.objects.exists()


def test_a_creation_whose_answer_is_lost_is_retried_with_the_same_idempotency_key(reader, book_for_sale, stripe_sim):
    stripe_sim.fail_next(3, status=500)  # the package retries twice itself, then gives up
    refused = reader.post("/payment/purchase", {"book_id": book_for_sale["id"], "provider": "stripe"})
    assert refused.status_code == 409
    order = Order.objects.get()
    stripe_sim.stall_next(1)
    reader.post("/payment/stripe", {"order_id": str(order.id)})  # made at Stripe, answer lost
    stripe_sim.release_stalled()
    again = reader.post("/payment/stripe", {"order_id": str(order.id)})
    assert again.status_code == 200, again.data
    sessions = [o for o in stripe_sim.objects.values() if o["object"] == "checkout.session"]
    assert len(sessions) == 1 and Payment.objects.get().provider_ref == sessions[0]["id"]


# --- a card pass ---------------------------------------------------------------------------------
def _card_pass(reader, stripe_sim):
    order = reader.post("/payment/subscribe", {"plan": "week", "currency": "EUR", "provider": "stripe"}).data
    session = stripe_sim.approve_checkout(_session(order["id"]))
    assert session["mode"] == "subscription"
    work_off()
    return order, Subscription.objects.get(user_id=reader.user_id), session["subscription"]


def test_a_card_pass_renews_every_period_once_per_invoice(reader, week_plan, stripe_sim, webhooks):
    order, subscription, stripe_id = _card_pass(reader, stripe_sim)
    assert (subscription.status, subscription.source, subscription.stripe_subscription_id) == (
        "active", "stripe", stripe_id)
    first_end = subscription.ends_at
    stripe_sim.clocks.advance(7 * 86400)
    stripe_sim.webhooks.duplicate_next(10)
    invoice = stripe_sim.advance_period(stripe_id)
    work_off()
    subscription.refresh_from_db()
    assert subscription.status == "active" and subscription.ends_at > first_end + timedelta(days=6)
    renewal = Payment.objects.get(reference=invoice["id"])
    assert (renewal.status, renewal.amount, renewal.currency) == ("succeeded", 100, "EUR")
    assert Receipt.objects.filter(user_id=reader.user_id).count() == 2
    assert len(outbox_events("payments", contracts.PAYMENT_COMPLETED)) == 2
    services.pass_renew(subscription_id=stripe_id, invoice_id=invoice["id"], amount=100, currency="EUR",
                        period_end=subscription.ends_at)  # the same invoice again
    assert Payment.objects.filter(order__user_id=reader.user_id).count() == 2


def test_a_failed_renewal_gives_grace_until_a_retry_pays(reader, week_plan, stripe_sim, settings):
    _order, subscription, stripe_id = _card_pass(reader, stripe_sim)
    stripe_sim.clocks.advance(7 * 86400)
    stripe_sim.advance_period(stripe_id, fail=True)
    work_off()
    subscription.refresh_from_db()
    assert subscription.status == "grace"
    assert subscription.grace_until >= subscription.ends_at + timedelta(seconds=settings.COKO_PAYMENTS["GRACE_S"])
    assert api.entitlements(user_id=reader.user_id)  # still readable
    stripe_sim.advance_period(stripe_id)  # the next attempt pays
    work_off()
    subscription.refresh_from_db()
    assert subscription.status == "active" and subscription.grace_until is None


def test_a_cancelled_card_pass_is_cancelled_at_stripe_and_ends_with_its_period(reader, week_plan, stripe_sim):
    _order, subscription, stripe_id = _card_pass(reader, stripe_sim)
    cancelled = reader.post("/payment/subscription/cancel")
    assert cancelled.status_code == 200 and cancelled.data[0]["ends_at"]
    assert stripe_sim.get(stripe_id)["cancel_at_period_end"] is True
    stripe_sim.clocks.advance(7 * 86400)
    assert stripe_sim.advance_period(stripe_id) is None  # the period ends: Stripe deletes the subscription
    work_off()
    subscription.refresh_from_db()
    assert subscription.status == "cancelled" and subscription.cancelled_at is not None
    assert ProviderEvent.objects.filter(event_type="customer.subscription.deleted", outcome="cancelled").exists()
    assert Payment.objects.filter(order__user_id=reader.user_id).count() == 1  # no renewal was charged
