"""Orange Money Web Payment end to end over loopback: OAuth token, the payment page, the
unsigned notification (its notif_token compared to the one Orange gave us), a status call
before anything is granted; the faults Orange and the network play on it."""

from __future__ import annotations

import json

import pytest

from coko.domains.payments import api, services
from coko.domains.payments.models import Flag, Order, Payment, ProviderEvent, Purchase, Subscription

from .simulated import work_off

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def _buy(reader, book):
    answer = reader.post("/payment/purchase", {"book_id": book["id"], "provider": "orange_money"})
    assert answer.status_code == 201, answer.data
    return answer.data


def _token(order_id):
    return Payment.objects.get(order_id=order_id, status__in=("processing", "succeeded")).provider_ref


def test_a_reader_buys_a_book_and_a_pass_with_orange_money(reader, book_for_sale, week_plan, orange, webhooks):
    order = _buy(reader, book_for_sale)
    assert order["payment"]["redirect_url"] == f"{orange.url}/payment/pay_token/{_token(order['id'])}"
    orange.approve(_token(order["id"]))
    assert webhooks.statuses() == [200]
    work_off()
    assert reader.get(f"/payment/orders/{order['id']}").data["status"] == "paid"
    assert api.has_access(user_id=reader.user_id, book_id=book_for_sale["id"]).allowed
    day = reader.post("/payment/subscribe", {"plan": "week", "provider": "orange_money"}).data
    orange.webhooks.duplicate_next()
    orange.approve(_token(day["id"]))
    assert [r.json()["received"] for r in webhooks.answers[1:]] == ["stored", "duplicate"]
    work_off()
    assert Subscription.objects.get(user_id=reader.user_id).status == "active"
    assert len(orange.calls("/oauth/v3/token")) == 1  # the token is cached


def test_a_declined_payment_cancels_the_order(reader, book_for_sale, orange):
    order = _buy(reader, book_for_sale)
    orange.decline(_token(order["id"]))
    work_off()
    assert Order.objects.get(id=order["id"]).status == "cancelled"


def test_a_lost_notification_is_covered_by_the_poll(reader, book_for_sale, orange):
    order = _buy(reader, book_for_sale)
    orange.webhooks.drop_next()
    orange.approve(_token(order["id"]))
    orange.clocks.advance(120)
    assert services.payments_poll() == 1
    work_off()
    assert Order.objects.get(id=order["id"]).status == "paid"


def test_a_notification_with_another_token_or_reference_is_rejected_and_changes_nothing(
        reader, book_for_sale, orange, webhooks):
    order = _buy(reader, book_for_sale)
    payment = Payment.objects.get(order_id=order["id"])
    body = {"status": "SUCCESS", "notif_token": "0" * 32, "txnid": "MP260101.0001.A00001"}
    for ref in (payment.reference, "ck-unknown"):
        webhooks(f"http://testserver/api/v1/payment/webhooks/orange-money?ref={ref}",
                 {"Content-Type": "application/json"}, json.dumps(body).encode())
    assert webhooks.rejections() == ["token_mismatch", "payment_unknown"]
    assert not ProviderEvent.objects.exists() and work_off() == []
    assert Order.objects.get(id=order["id"]).status == "pending"


def test_a_status_that_does_not_match_our_payment_is_flagged_and_not_granted(reader, book_for_sale, orange):
    order = _buy(reader, book_for_sale)
    orange.payments[_token(order["id"])]["amount"] = 150  # Orange holds another amount for this order
    orange.approve(_token(order["id"]))
    work_off()
    assert Order.objects.get(id=order["id"]).status == "pending" and not Purchase.objects.exists()
    assert Flag.objects.get().kind == "status_refused"
    assert ProviderEvent.objects.get().outcome == "status_refused"


def test_a_creation_that_times_out_is_retried_as_a_new_payment_never_charged_twice(reader, book_for_sale, orange):
    """Orange has no search and refuses an order_id twice: the lost try is given up (its page was
    never shown to the payer, and expires at Orange), the retry is a new payment."""
    orange.stall_next(1)
    lost = reader.post("/payment/purchase", {"book_id": book_for_sale["id"], "provider": "orange_money"})
    orange.release_stalled()
    assert lost.status_code == 409 and lost.data["error"]["code"] == "provider_unavailable"
    order = Order.objects.get()
    assert order.status == "pending" and Payment.objects.get().status == "canceled"
    retried = reader.post("/payment/orange-money", {"order_id": str(order.id)})
    assert retried.status_code == 200, retried.data
    assert len(orange.payments) == 2 and Payment.objects.count() == 2
    orange.approve(_token(order.id))
    work_off()
    assert Order.objects.get().status == "paid" and Purchase.objects.count() == 1
    assert orange.payment(order_id=Payment.objects.get(status="canceled").reference)["status"] == "INITIATED"
