"""Wave Checkout end to end over loopback: the reader orders, Wave's page is approved or
declined, the signed webhook reaches Coko's route, the worker confirms by a status fetch and
the book or pass is granted once; the faults Wave and the network play on it."""

from __future__ import annotations

import pytest

from coko.devtools.testing.events import outbox_events
from coko.domains.payments import api, contracts, services
from coko.domains.payments.models import Flag, Order, Payment, ProviderEvent, Purchase, Receipt, Subscription

from .simulated import work_off

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def _buy(reader, book, **headers):
    answer = reader.post("/payment/purchase", {"book_id": book["id"], "provider": "wave"}, **headers)
    assert answer.status_code == 201, answer.data
    return answer.data


def _session(order_id):
    return Payment.objects.get(order_id=order_id).provider_ref


def test_a_reader_buys_a_book_and_a_pass_with_wave(reader, book_for_sale, week_plan, wave, webhooks):
    order = _buy(reader, book_for_sale)
    assert order["payment"]["redirect_url"] == f"{wave.url}/c/{_session(order['id'])}"
    assert order["status"] == "pending" and order["amount"] == 1500
    wave.approve(_session(order["id"]))
    assert webhooks.statuses() == [200]
    assert reader.get(f"/payment/orders/{order['id']}").data["status"] == "pending"  # the worker has not run
    assert [(name, exc) for name, _arg, exc in work_off()] == [(services.CONFIRM_ACTOR, None)]
    paid = reader.get(f"/payment/orders/{order['id']}").data
    assert paid["status"] == "paid" and paid["receipt_number"]
    assert api.has_access(user_id=reader.user_id, book_id=book_for_sale["id"]).reason == "purchase"

    pass_order = reader.post("/payment/subscribe", {"plan": "week", "provider": "wave"}).data
    assert pass_order["amount"] == 500
    wave.approve(_session(pass_order["id"]))
    work_off()
    assert reader.get(f"/payment/orders/{pass_order['id']}").data["status"] == "paid"
    assert Subscription.objects.get(user_id=reader.user_id).status == "active"
    assert Receipt.objects.filter(user_id=reader.user_id).count() == 2
    assert len(outbox_events("payments", contracts.PAYMENT_COMPLETED)) == 2
    assert ProviderEvent.objects.filter(outcome="granted").count() == 2


def test_a_declined_payment_cancels_the_order_and_closes_the_session(reader, book_for_sale, wave):
    order = _buy(reader, book_for_sale)
    wave.decline(_session(order["id"]))
    assert [exc for _name, _arg, exc in work_off()] == [None]
    closed = Order.objects.get(id=order["id"])
    assert (closed.status, closed.closed_reason) == ("cancelled", "payment_failed")
    assert Payment.objects.get(order_id=order["id"]).failure == "insufficient-funds"
    assert wave.sessions[_session(order["id"])]["checkout_status"] == "expired"  # cannot be paid after
    assert not Purchase.objects.exists()


def test_the_webhook_arrives_before_the_client_polls_and_duplicates_or_reordering_grant_once(
        reader, book_for_sale, week_plan, wave, webhooks):
    book = _buy(reader, book_for_sale)
    day = reader.post("/payment/subscribe", {"plan": "week", "provider": "wave"}).data
    wave.webhooks.duplicate_next(1, copies=3)
    wave.webhooks.hold()
    wave.approve(_session(book["id"]))
    wave.approve(_session(day["id"]))
    wave.webhooks.release(reverse=True)  # the second payment's webhook first
    assert webhooks.statuses() == [200, 200, 200, 200]
    assert [r.json()["received"] for r in webhooks.answers] == ["stored", "stored", "duplicate", "duplicate"]
    assert len(work_off()) == 2
    assert reader.get(f"/payment/orders/{book['id']}").data["status"] == "paid"  # the client polls after
    wave.webhooks.redeliver(wave.webhooks.deliveries[0].event_id)  # Wave retries a day later: nothing new
    work_off()
    assert Purchase.objects.count() == 1 and Subscription.objects.count() == 1
    assert len(outbox_events("payments", contracts.PAYMENT_COMPLETED)) == 2


def test_a_webhook_that_never_arrives_is_covered_by_the_poll_and_an_unpaid_order_expires(
        reader, book_for_sale, week_plan, wave, clock):
    paid = _buy(reader, book_for_sale)
    unpaid = reader.post("/payment/subscribe", {"plan": "week", "provider": "wave"}).data
    wave.webhooks.drop_next()
    wave.approve(_session(paid["id"]))
    assert work_off() == []
    wave.clocks.advance(120)
    assert services.payments_poll() == 2
    work_off()
    assert Order.objects.get(id=paid["id"]).status == "paid"
    assert Order.objects.get(id=unpaid["id"]).status == "pending"
    wave.clocks.advance(30 * 60)
    assert services.orders_expire() == 1
    assert Order.objects.get(id=unpaid["id"]).status == "expired"


@pytest.mark.parametrize("forgery", ["signature", "replay", "unknown"])
def test_forged_replayed_or_unknown_webhooks_are_rejected_and_change_nothing(
        reader, book_for_sale, wave, webhooks, forgery):
    order = _buy(reader, book_for_sale)
    session = _session(order["id"])
    if forgery == "signature":
        wave.webhook_secret = "wave_sn_WHS_someone_else"
    elif forgery == "replay":
        wave.clock.advance(-600)  # signed ten minutes ago, replayed now
    else:  # a session and reference we never made
        Payment.objects.filter(order_id=order["id"]).update(reference="ck-someone-else", provider_ref="cos-other")
    wave.approve(session)
    assert webhooks.statuses() == [400]
    assert webhooks.answers[0].json()["error"]["code"] == "webhook_rejected"
    assert webhooks.rejections() == [{"signature": "signature_mismatch", "replay": "signature_too_old",
                                      "unknown": "payment_unknown"}[forgery]]
    assert not ProviderEvent.objects.exists() and work_off() == []
    assert Order.objects.get(id=order["id"]).status == "pending"


def test_an_amount_that_differs_from_the_order_is_flagged_and_not_granted(reader, book_for_sale, wave):
    order = _buy(reader, book_for_sale)
    session = _session(order["id"])
    wave.sessions[session]["amount"] = "150"  # Wave reports another amount than the order's
    wave.approve(session)
    work_off()
    assert Order.objects.get(id=order["id"]).status == "pending" and not Purchase.objects.exists()
    flag = Flag.objects.get(kind="amount_mismatch")
    assert flag.details == {"expected": [1500, "XOF"], "received": [150, "XOF"]}
    assert ProviderEvent.objects.get().outcome == "mismatch"


def test_a_creation_that_fails_or_times_out_is_retried_without_a_second_session(reader, book_for_sale, wave):
    wave.fail_next(2, status=503)  # the search before creating, then the creation
    refused = reader.post("/payment/purchase", {"book_id": book_for_sale["id"], "provider": "wave"},
                          HTTP_IDEMPOTENCY_KEY="k1")
    assert refused.status_code == 409 and refused.data["error"]["code"] == "provider_unavailable"
    order = Order.objects.get()
    wave.stall_next(2)  # the search and the creation are carried out, their answers never come
    found = reader.post("/payment/wave", {"order_id": str(order.id)})
    wave.release_stalled()
    assert found.status_code == 200, found.data  # the search after the timeout found the session made
    [session] = wave.sessions.values()
    assert Payment.objects.get().provider_ref == session["id"] == found.data["payment"]["redirect_url"].split("/")[-1]
    assert session["client_reference"] == Payment.objects.get().reference
    assert reader.post("/payment/wave", {"order_id": str(order.id)}).status_code == 200  # asked again: the same
    assert len(wave.sessions) == 1 and len(wave.calls("/v1/checkout/sessions")) == 6


def test_metrics_count_payments_by_provider_and_time_their_confirmation(reader, book_for_sale, week_plan, wave):
    from prometheus_client import REGISTRY

    def value(name, **labels):
        return REGISTRY.get_sample_value(name, {"provider": "wave", **labels}) or 0

    before = {name: value(name) for name in ("coko_payments_started_total", "coko_payments_succeeded_total",
                                             "coko_payments_failed_total", "coko_payment_confirmation_seconds_count")}
    rejected = value("coko_payment_webhooks_rejected_total", reason="signature_mismatch")
    paid = _buy(reader, book_for_sale)
    declined = reader.post("/payment/subscribe", {"plan": "week", "provider": "wave"}).data
    wave.approve(_session(paid["id"]))
    wave.decline(_session(declined["id"]))
    work_off()
    wave.webhook_secret = "forged"
    wave.webhooks.redeliver(wave.webhooks.deliveries[0].event_id)  # re-signed with the wrong secret
    assert value("coko_payments_started_total") - before["coko_payments_started_total"] == 2
    assert value("coko_payments_succeeded_total") - before["coko_payments_succeeded_total"] == 1
    assert value("coko_payments_failed_total") - before["coko_payments_failed_total"] == 1
    assert value("coko_payment_confirmation_seconds_count") - before["coko_payment_confirmation_seconds_count"] == 1
    assert value("coko_payment_webhooks_rejected_total", reason="signature_mismatch") - rejected == 1
