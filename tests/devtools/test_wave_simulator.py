"""The Wave simulator speaks Wave Checkout as documented: bearer key, ``{code, message}``
errors, string amounts with no decimals in XOF, ``cos-`` sessions that the payer approves or
declines on the simulator's page, signed webhooks (checked here by an independent
implementation of Wave's scheme), the faults a test scripts on them, and the statement
reconciliation reads."""

from __future__ import annotations

import hashlib
import hmac
import time

import httpx
import pytest

from coko.devtools.simulators import WaveSimulator

SESSION = {"amount": "1500", "currency": "XOF", "success_url": "https://coko.test/paid",
           "error_url": "https://coko.test/failed", "client_reference": "order-42"}


def verify_wave(header: str, body: bytes, secret: str, *, now: float | None = None, tolerance: int = 300) -> bool:
    """Wave's documented check, written from the documentation: any v1 may match; HMAC over
    the timestamp followed by the raw body, no separator."""
    parts = [p.split("=", 1) for p in header.split(",")]
    timestamp = next(v for k, v in parts if k == "t")
    expected = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).hexdigest()
    fresh = abs((now or time.time()) - int(timestamp)) <= tolerance
    return fresh and any(k == "v1" and hmac.compare_digest(v, expected) for k, v in parts)


@pytest.fixture
def sim(receiver):
    with WaveSimulator(webhook_url=f"{receiver.url}/api/v1/payment/webhooks/wave") as s:
        s.client = httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {s.api_key}"})
        yield s


def test_a_session_is_created_with_the_documented_shape(sim):
    answer = sim.client.post("/v1/checkout/sessions", json=SESSION)
    assert answer.status_code == 200
    session = answer.json()
    assert session["id"].startswith("cos-") and session["amount"] == "1500" and session["currency"] == "XOF"
    assert (session["checkout_status"], session["payment_status"]) == ("open", "processing")
    assert session["wave_launch_url"] == f"{sim.url}/c/{session['id']}"
    assert session["when_expires"] > session["when_created"] and session["transaction_id"] is None
    assert sim.client.get(f"/v1/checkout/sessions/{session['id']}").json() == session


@pytest.mark.parametrize(("headers", "code"), [
    ({}, "missing-auth-header"),
    ({"Authorization": "Basic abc"}, "invalid-auth"),
    ({"Authorization": "Bearer wave_sn_prod_someone_else"}, "no-matching-api-key"),
])
def test_the_api_key_is_required(sim, headers, code):
    answer = httpx.post(f"{sim.url}/v1/checkout/sessions", json=SESSION, headers=headers)
    assert answer.status_code == 401 and answer.json()["code"] == code and answer.json()["message"]


@pytest.mark.parametrize(("change", "field"), [
    ({"amount": "1500.50"}, "amount"),  # XOF has no decimals
    ({"amount": 1500}, "amount"),  # a number, not a string
    ({"amount": "-5"}, "amount"),
    ({"success_url": None}, "success_url"),
    ({"currency": "EUR"}, "currency"),
])
def test_invalid_requests_are_refused_with_a_validation_error(sim, change, field):
    answer = sim.client.post("/v1/checkout/sessions", json={**SESSION, **change})
    assert answer.status_code == 400
    error = answer.json()
    assert error["code"] == "request-validation-error" and [field] in [d["loc"] for d in error["details"]]
    assert sim.sessions == {}


def test_approving_on_the_page_completes_the_session_redirects_and_sends_a_signed_webhook(sim, receiver):
    session = sim.client.post("/v1/checkout/sessions", json=SESSION).json()
    page = httpx.get(session["wave_launch_url"])
    assert page.status_code == 200 and "simulator" in page.text and 'value="approve"' in page.text
    assert "<script" not in page.text and "http" not in page.text.split("<body>")[1].split("action=")[0]

    answer = httpx.post(session["wave_launch_url"], data={"decision": "approve"})
    assert answer.status_code == 303 and answer.headers["location"] == SESSION["success_url"]

    [hook] = receiver.requests
    assert hook.path == "/api/v1/payment/webhooks/wave"
    assert verify_wave(hook.headers["wave-signature"], hook.body, sim.webhook_secret)
    assert not verify_wave(hook.headers["wave-signature"], hook.body + b" ", sim.webhook_secret)
    event = hook.json()
    assert event["type"] == "checkout.session.completed" and event["id"].startswith("EV_")
    assert event["data"]["id"] == session["id"] and event["data"]["payment_status"] == "succeeded"
    done = sim.client.get(f"/v1/checkout/sessions/{session['id']}").json()
    assert (done["checkout_status"], done["payment_status"]) == ("complete", "succeeded")
    assert sim.client.get("/v1/checkout/sessions", params={"transaction_id": done["transaction_id"]}).json() == done
    assert httpx.post(session["wave_launch_url"], data={"decision": "approve"}).status_code == 200  # no second payment
    assert len(receiver.requests) == 1


def test_declining_leaves_the_session_open_with_the_error_and_redirects_to_error_url(sim, receiver):
    session = sim.client.post("/v1/checkout/sessions", json=SESSION).json()
    answer = httpx.post(session["wave_launch_url"], data={"decision": "decline"})
    assert answer.status_code == 303 and answer.headers["location"] == SESSION["error_url"]
    [event] = receiver.bodies()
    assert event["type"] == "checkout.session.payment_failed"
    assert event["data"]["last_payment_error"]["code"] == "insufficient-funds"
    assert sim.client.get(f"/v1/checkout/sessions/{session['id']}").json()["checkout_status"] == "open"


def test_search_by_client_reference_finds_the_session_a_lost_answer_created(sim):
    sim.stall_next()
    with pytest.raises(httpx.ReadTimeout):
        sim.client.post("/v1/checkout/sessions", json=SESSION, timeout=0.3)  # created, answer lost
    sim.release_stalled()
    found = sim.client.get("/v1/checkout/sessions/search", params={"client_reference": "order-42"}).json()
    assert [s["client_reference"] for s in found["result"]] == ["order-42"]
    assert sim.client.get("/v1/checkout/sessions/search", params={"client_reference": "nope"}).json() == {"result": []}


def test_expire_refund_and_their_errors(sim):
    session = sim.client.post("/v1/checkout/sessions", json=SESSION).json()
    assert sim.client.post(f"/v1/checkout/sessions/{session['id']}/refund").json()["code"] == "checkout-refund-failed"
    assert sim.client.post(f"/v1/checkout/sessions/{session['id']}/expire").status_code == 200
    expired = sim.client.get(f"/v1/checkout/sessions/{session['id']}").json()
    assert (expired["checkout_status"], expired["payment_status"]) == ("expired", "cancelled")
    assert sim.client.post(f"/v1/checkout/sessions/{session['id']}/expire").status_code == 409
    assert sim.client.get("/v1/checkout/sessions").json()["code"] == "request-validation-error"
    missing = sim.client.get("/v1/checkout/sessions/cos-doesnotexist")
    assert missing.status_code == 404 and missing.json()["code"] == "checkout-session-not-found"

    paid = sim.client.post("/v1/checkout/sessions", json={**SESSION, "client_reference": "order-43"}).json()
    sim.approve(paid["id"])
    assert sim.client.post(f"/v1/checkout/sessions/{paid['id']}/refund").status_code == 200
    again = sim.client.post(f"/v1/checkout/sessions/{paid['id']}/refund")
    assert again.status_code == 409 and again.json()["code"] == "checkout-refund-failed"


def test_a_session_expires_when_the_clock_passes_when_expires(sim):
    session = sim.client.post("/v1/checkout/sessions", json=SESSION).json()
    sim.clock.advance(sim.session_lifetime + 1)
    assert sim.client.get(f"/v1/checkout/sessions/{session['id']}").json()["checkout_status"] == "expired"
    with pytest.raises(ValueError, match="expired"):
        sim.approve(session["id"])


def test_the_transactions_listing_has_each_payment_and_refund_of_the_day(sim):
    ids = []
    for ref in ("order-1", "order-2", "order-3"):
        ids.append(sim.client.post("/v1/checkout/sessions", json={**SESSION, "client_reference": ref}).json()["id"])
    sim.approve(ids[0])
    sim.approve(ids[1])
    sim.client.post(f"/v1/checkout/sessions/{ids[1]}/refund")
    sim.page_size = 2
    day = sim.clock.iso()[:10]
    first = sim.client.get("/v1/transactions", params={"date": day}).json()
    assert first["date"] == day and first["page_info"]["has_next_page"] is True
    rest = sim.client.get("/v1/transactions", params={"date": day, "after": first["page_info"]["end_cursor"]}).json()
    items = first["items"] + rest["items"]
    assert [(i["transaction_type"], i["amount"], i["is_reversal"], i["client_reference"]) for i in items] == [
        ("api_checkout", "1500", False, "order-1"), ("api_checkout", "1500", False, "order-2"),
        ("api_checkout_refund", "-1500", True, "order-2")]
    assert items[0]["checkout_api_session_id"] == ids[0] and items[0]["transaction_id"].startswith("T_")
    assert sim.client.get("/v1/transactions", params={"date": "2001-01-01"}).json()["items"] == []


def test_webhook_controls_duplicate_delay_reorder_and_lose(sim, receiver):
    def pay(ref):
        session = sim.client.post("/v1/checkout/sessions", json={**SESSION, "client_reference": ref}).json()
        return sim.approve(session["id"])["id"]

    sim.webhooks.duplicate_next()
    pay("dup")
    first, second = receiver.bodies()
    assert first == second  # the same event id, twice

    sim.webhooks.hold()
    held = [pay("late-1"), pay("late-2")]
    assert len(receiver.requests) == 2  # nothing new until released
    sim.webhooks.release(reverse=True)
    assert [b["data"]["id"] for b in receiver.bodies()[2:]] == held[::-1]

    sim.webhooks.drop_next()
    lost = pay("lost")
    assert len(receiver.requests) == 4 and sim.webhooks.dropped[0]["data"]["id"] == lost


def test_a_rotated_secret_signs_twice_and_a_failed_delivery_can_be_retried(sim, receiver):
    sim.previous_webhook_secret = "wave_sn_WHS_old"
    receiver.status = 500
    session = sim.client.post("/v1/checkout/sessions", json=SESSION).json()
    sim.approve(session["id"])
    [hook] = receiver.requests
    header = hook.headers["wave-signature"]
    assert header.count("v1=") == 2
    assert verify_wave(header, hook.body, sim.webhook_secret) and verify_wave(header, hook.body, "wave_sn_WHS_old")
    receiver.status = 200
    [retry] = sim.webhooks.retry_failed()
    assert retry.ok and receiver.requests[1].body == hook.body
    assert sim.webhooks.retry_failed() == []


def test_scripted_failures_answer_in_the_wave_shape(sim):
    sim.fail_next(status=503)
    answer = sim.client.post("/v1/checkout/sessions", json=SESSION)
    assert answer.status_code == 503 and answer.json()["code"] == "internal-server-error"
    assert sim.sessions == {}
