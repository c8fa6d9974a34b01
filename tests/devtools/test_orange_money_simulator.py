"""The Orange Money simulator speaks Web Payment as documented: client-credentials tokens
that expire, 201 on initiate, OUV only in the sandbox, the payer's approve / decline page,
the unsigned notification (which a test can make never arrive), and the status call that
covers for it, pay tokens expiring on the simulator's clock included."""

from __future__ import annotations

import httpx
import pytest

from coko.devtools.simulators import OrangeMoneySimulator

DEV = "/orange-money-webpay/dev/v1"


@pytest.fixture
def sim():
    with OrangeMoneySimulator(token_lifetime=3600) as s:
        s.client = httpx.Client(base_url=s.url)
        yield s


def token(sim) -> str:
    answer = sim.client.post("/oauth/v3/token", auth=(sim.client_id, sim.client_secret),
                             data={"grant_type": "client_credentials"})
    assert answer.status_code == 200 and answer.json()["token_type"] == "Bearer"
    return answer.json()["access_token"]


def initiate(sim, receiver, *, order_id="order-42", currency="OUV", path=DEV, amount=1500, bearer=None):
    body = {"merchant_key": sim.merchant_key, "currency": currency, "order_id": order_id, "amount": amount,
            "return_url": "https://coko.test/paid", "cancel_url": "https://coko.test/cancelled",
            "notif_url": f"{receiver.url}/api/v1/payment/webhooks/orange-money", "lang": "fr", "reference": "Coko"}
    return sim.client.post(f"{path}/webpayment", json=body, headers={"Authorization": f"Bearer {bearer or token(sim)}"})


def status(sim, payment, *, order_id="order-42", amount=1500):
    return sim.client.post(f"{DEV}/transactionstatus", headers={"Authorization": f"Bearer {token(sim)}"},
                           json={"order_id": order_id, "amount": amount, "pay_token": payment["pay_token"]})


def test_initiate_answers_201_with_the_payment_url_and_tokens(sim, receiver):
    answer = initiate(sim, receiver)
    assert answer.status_code == 201
    payment = answer.json()
    assert (payment["status"], payment["message"]) == (201, "OK")
    assert payment["payment_url"] == f"{sim.url}/payment/pay_token/{payment['pay_token']}" and payment["notif_token"]
    assert status(sim, payment).json() == {"status": "INITIATED", "order_id": "order-42", "txnid": None}


def test_tokens_need_the_client_credentials_and_expire_on_the_clock(sim, receiver):
    refused = sim.client.post("/oauth/v3/token", auth=("orange-money-client", "wrong"), data={"grant_type": "client_credentials"})
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    bearer = token(sim)
    assert initiate(sim, receiver, bearer=bearer).status_code == 201
    sim.clock.advance(3600)
    expired = initiate(sim, receiver, order_id="order-43", bearer=bearer)
    assert expired.status_code == 401 and expired.json()["code"] == 42
    assert initiate(sim, receiver, order_id="order-43", bearer="made-up").json()["code"] == 41
    assert initiate(sim, receiver, order_id="order-43").status_code == 201  # a fresh token works


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"currency": "XOF"}, "only OUV"),  # the sandbox's only currency
    ({"currency": "OUV", "path": "/orange-money-webpay/sn/v1"}, "sn accepts only XOF"),
    ({"order_id": "x" * 31}, "at most 30"),
    ({"amount": 15.5}, "positive integer"),
])
def test_invalid_payments_are_refused(sim, receiver, kwargs, expected):
    answer = initiate(sim, receiver, **kwargs)
    assert answer.status_code == 400 and expected in answer.json()["description"]


def test_a_country_path_takes_its_currency_and_an_order_id_is_used_once(sim, receiver):
    assert initiate(sim, receiver, currency="XOF", path="/orange-money-webpay/sn/v1").status_code == 201
    again = initiate(sim, receiver, currency="XOF", path="/orange-money-webpay/sn/v1")
    assert again.status_code == 400 and "already used" in again.json()["description"]


def test_approving_on_the_page_notifies_and_redirects_and_the_status_says_success(sim, receiver):
    payment = initiate(sim, receiver).json()
    page = httpx.get(payment["payment_url"])
    assert page.status_code == 200 and "simulator" in page.text and "1500 OUV" in page.text
    assert status(sim, payment).json()["status"] == "PENDING"  # the payer is on the page

    answer = httpx.post(payment["payment_url"], data={"decision": "approve"})
    assert answer.status_code == 303 and answer.headers["location"] == "https://coko.test/paid"
    [note] = receiver.requests
    assert note.path == "/api/v1/payment/webhooks/orange-money" and "authorization" not in note.headers
    body = note.json()
    assert body["status"] == "SUCCESS" and body["notif_token"] == payment["notif_token"]
    assert body["txnid"].startswith("MP")
    assert status(sim, payment).json() == {"status": "SUCCESS", "order_id": "order-42", "txnid": body["txnid"]}


def test_declining_notifies_failed_and_sends_the_payer_to_cancel_url(sim, receiver):
    payment = initiate(sim, receiver).json()
    httpx.get(payment["payment_url"])
    answer = httpx.post(payment["payment_url"], data={"decision": "decline"})
    assert answer.headers["location"] == "https://coko.test/cancelled"
    assert receiver.bodies()[0]["status"] == "FAILED"
    assert status(sim, payment).json()["status"] == "FAILED"


def test_a_notification_that_never_arrives_is_covered_by_the_status_call(sim, receiver):
    payment = initiate(sim, receiver).json()
    sim.webhooks.drop_next()
    sim.approve(payment["pay_token"])
    assert receiver.requests == []
    assert status(sim, payment).json()["status"] == "SUCCESS"


def test_an_unpaid_pay_token_expires_after_ten_minutes(sim, receiver):
    payment = initiate(sim, receiver).json()
    sim.clock.advance(599)
    assert status(sim, payment).json()["status"] == "INITIATED"
    sim.clock.advance(1)
    assert status(sim, payment).json()["status"] == "EXPIRED"
    assert "EXPIRED" in httpx.get(payment["payment_url"]).text
    with pytest.raises(ValueError):
        sim.approve(payment["pay_token"])


def test_the_status_call_must_match_the_payment(sim, receiver):
    payment = initiate(sim, receiver).json()
    assert status(sim, payment, amount=15).status_code == 400
    assert status(sim, payment, order_id="order-99").status_code == 400


def test_the_transactions_listing_has_the_completed_payments_of_the_day(sim, receiver):
    paid = initiate(sim, receiver, order_id="order-1").json()
    failed = initiate(sim, receiver, order_id="order-2").json()
    initiate(sim, receiver, order_id="order-3")  # still open: not listed
    sim.approve(paid["pay_token"])
    sim.decline(failed["pay_token"])
    day = sim.clock.iso()[:10]
    listing = sim.client.get(f"{DEV}/transactions", params={"date": day},
                             headers={"Authorization": f"Bearer {token(sim)}"}).json()
    assert listing["date"] == day
    assert [(t["order_id"], t["status"], t["amount"], t["currency"]) for t in listing["transactions"]] == [
        ("order-1", "SUCCESS", 1500, "OUV"), ("order-2", "FAILED", 1500, "OUV")]
    assert sim.client.get(f"{DEV}/transactions").status_code == 401
