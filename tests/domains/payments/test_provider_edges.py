"""The edges where Coko and a provider can disagree, against the simulators over loopback: a
refunded card pass never renews; the expiry job closes the provider's checkout and still grants
a payment made at the last second; a card declined on a pass's checkout closes the order when
Stripe says so; reconciliation compares refunds too."""

from __future__ import annotations

import io
from datetime import date

import pytest
from django.core.management import call_command

from coko.domains.accounts.testing import staff as staff_member
from coko.domains.payments import api, providers, services
from coko.domains.payments.models import Flag, Order, Payment, Purchase, Subscription

from .simulated import work_off
from .test_provider_stripe import _card_pass

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def _session(order_id):
    return Payment.objects.get(order_id=order_id).provider_ref


# --- a refund ends a card pass at Stripe -----------------------------------------------------------
def test_a_refunded_card_pass_is_ended_at_stripe_and_is_never_charged_again(reader, week_plan, stripe_sim):
    order, subscription, stripe_id = _card_pass(reader, stripe_sim)
    refunded = staff_member().post(f"/payment/orders/{order['id']}/refund", {"reason": "duplicate"})
    assert refunded.status_code == 200, refunded.data
    assert refunded.data["status"] == "refunded"
    assert stripe_sim.get(stripe_id)["status"] == "canceled"  # ended now, not at the period's end
    charges = [o for o in stripe_sim.objects.values() if o["object"] == "charge"]
    assert [c["refunded"] for c in charges] == [True]  # the first invoice's payment came back
    work_off()  # customer.subscription.deleted: a revoked pass stays revoked
    subscription.refresh_from_db()
    assert subscription.status == "expired"
    assert not api.entitlements(user_id=reader.user_id)
    stripe_sim.clocks.advance(7 * 86400)
    with pytest.raises(Exception, match="canceled"):
        stripe_sim.advance_period(stripe_id)  # Stripe has nothing left to renew
    assert Payment.objects.filter(order__user_id=reader.user_id).count() == 1


def test_a_refunded_card_renewal_ends_the_pass_at_stripe_too(reader, week_plan, stripe_sim):
    _order, subscription, stripe_id = _card_pass(reader, stripe_sim)
    stripe_sim.clocks.advance(7 * 86400)
    invoice = stripe_sim.advance_period(stripe_id)
    work_off()
    renewal = Payment.objects.get(reference=invoice["id"]).order
    assert staff_member().post(f"/payment/orders/{renewal.id}/refund", {"reason": "asked"}).status_code == 200
    assert stripe_sim.get(stripe_id)["status"] == "canceled"
    refund = next(o for o in stripe_sim.objects.values() if o["object"] == "refund")
    assert refund["metadata"] == {"reference": invoice["id"]}
    subscription.refresh_from_db()
    assert subscription.status == "expired"


# --- the expiry job and the provider's checkout ------------------------------------------------------
def _wave_order(reader, book):
    answer = reader.post("/payment/purchase", {"book_id": book["id"], "provider": "wave"})
    assert answer.status_code == 201, answer.data
    return answer.data


def test_the_expiry_job_closes_the_wave_checkout_so_it_cannot_be_paid_after(reader, book_for_sale, wave):
    order = _wave_order(reader, book_for_sale)
    wave.clocks.advance(31 * 60)
    assert services.orders_expire() == 1
    closed = Order.objects.get(id=order["id"])
    assert (closed.status, closed.closed_reason) == ("expired", "no_payment")
    assert Payment.objects.get(order_id=order["id"]).status == "expired"
    assert wave.sessions[_session(order["id"])]["checkout_status"] == "expired"
    assert services.orders_expire() == 0


def test_a_payment_made_at_the_last_second_is_granted_not_expired(reader, book_for_sale, wave):
    order = _wave_order(reader, book_for_sale)
    wave.webhooks.drop_next()  # its webhook is lost (or still on its way)
    wave.approve(_session(order["id"]))
    wave.clocks.advance(31 * 60)
    assert services.orders_expire() == 0  # Wave refuses to expire a paid session: asked, it says paid
    assert Order.objects.get(id=order["id"]).status == "paid"
    assert api.has_access(user_id=reader.user_id, book_id=book_for_sale["id"]).reason == "purchase"
    assert not Flag.objects.exists()  # paid before we closed anything: nothing for staff


def test_a_checkout_wave_already_expired_is_no_error(reader, book_for_sale, wave):
    order = _wave_order(reader, book_for_sale)
    wave.clocks.advance(31 * 60)
    wave.expire_all()  # Wave's own clock closed it first
    assert services.orders_expire() == 1
    assert Order.objects.get(id=order["id"]).status == "expired"


def test_a_provider_that_does_not_answer_at_expiry_leaves_the_payment_asked_about(reader, book_for_sale, wave):
    order = _wave_order(reader, book_for_sale)
    wave.webhooks.drop_next()
    wave.approve(_session(order["id"]))  # paid, but nobody here knows yet
    wave.clocks.advance(31 * 60)
    wave.fail_next(1, status=503)
    assert services.orders_expire() == 1  # we cannot know: the order closes, its payment is still asked about
    assert Order.objects.get(id=order["id"]).status == "expired"
    assert Payment.objects.get(order_id=order["id"]).status == "processing"
    assert services.payments_poll() == 1
    work_off()
    assert Order.objects.get(id=order["id"]).status == "paid"  # honoured, and flagged for staff
    assert Flag.objects.get().kind == "paid_after_close"


# --- a card declined on a pass's checkout ------------------------------------------------------------
def test_a_card_declined_on_a_pass_checkout_closes_the_order_when_stripe_says_so(reader, week_plan, stripe_sim):
    order = reader.post("/payment/subscribe", {"plan": "week", "currency": "EUR", "provider": "stripe"}).data
    session = _session(order["id"])
    stripe_sim.decline_checkout(session)
    assert stripe_sim.get(session)["status"] == "open"  # Stripe lets the payer try another card
    work_off()
    closed = Order.objects.get(id=order["id"])
    assert (closed.status, closed.closed_reason) == ("cancelled", "payment_failed")
    assert Payment.objects.get(order_id=order["id"]).failure == "generic_decline"
    assert stripe_sim.get(session)["status"] == "expired"  # and now it cannot be paid after
    assert not Subscription.objects.exists()


def test_a_second_card_that_pays_before_the_decline_is_heard_is_granted(reader, week_plan, stripe_sim):
    order = reader.post("/payment/subscribe", {"plan": "week", "currency": "EUR", "provider": "stripe"}).data
    session = _session(order["id"])
    stripe_sim.webhooks.hold()
    stripe_sim.decline_checkout(session)
    stripe_sim.approve_checkout(session)  # another card, at once
    stripe_sim.webhooks.release()
    work_off()
    assert Order.objects.get(id=order["id"]).status == "paid"
    assert Subscription.objects.get().status == "active"


# --- reconciliation compares refunds -----------------------------------------------------------------
def _reconcile(provider, day):
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("payments_reconcile", "--provider", provider, "--date", day, stdout=out)
    return out.getvalue()


def test_reconciliation_compares_the_refunds_of_the_day(reader, book_for_sale, week_plan, wave, author):
    day = wave.clock.iso()[:10]
    orders = [reader.post("/payment/subscribe", {"plan": "week", "provider": "wave"}).data for _ in range(3)]
    for order in orders:
        wave.approve(_session(order["id"]))
    work_off()
    staff = staff_member()
    # 1. refunded through Coko: both sides agree
    assert staff.post(f"/payment/orders/{orders[0]['id']}/refund", {"reason": "asked"}).status_code == 200
    assert services.reconcile(provider="wave", day=date.fromisoformat(day)) == []
    # 2. refunded in Wave's portal, not through Coko: missing locally
    providers.provider_for("wave").refund(provider_ref=_session(orders[1]["id"]), amount=500, currency="XOF")
    # 3. refunded in our ledger only (the provider call never happened): missing at the provider
    services.order_refund(order_id=orders[2]["id"], reason="by hand", actor_id=author.user_id)
    printed = _reconcile("wave", day)
    assert "2 mismatch(es)" in printed
    assert dict(Flag.objects.values_list("kind", "details__reference")) == {
        "refund_missing_locally": Payment.objects.get(order_id=orders[1]["id"]).reference,
        "refund_missing_at_provider": Payment.objects.get(order_id=orders[2]["id"]).reference}
    _reconcile("wave", day)
    assert Flag.objects.count() == 2  # not flagged twice


def test_stripe_refunds_reconcile_and_orange_lists_none(reader, book_for_sale, stripe_sim):
    day = stripe_sim.clock.iso()[:10]
    order = reader.post("/payment/purchase", {"book_id": book_for_sale["id"], "provider": "stripe"}).data
    stripe_sim.approve_checkout(_session(order["id"]))
    work_off()
    assert staff_member().post(f"/payment/orders/{order['id']}/refund", {"reason": "asked"}).status_code == 200
    assert not Purchase.objects.filter(revoked_at__isnull=True).exists()
    assert services.reconcile(provider="stripe", day=date.fromisoformat(day)) == []
