"""The real SMS and push adapters against the loopback provider simulators, through the
domain's own delivery path: ``services.notification_send`` then the ``notifications.deliver``
actor body, run in-process (its re-enqueue with a delay is captured, not sent)."""

from __future__ import annotations

import json

import pytest

from coko.devtools.testing.events import last_event, outbox_events
from coko.domains.accounts.contracts import USER_REGISTERED, CodeRequested
from coko.domains.notifications import handlers, services, tasks
from coko.platform.crypto import field_decrypt
from coko.devtools.simulators import FcmSimulator, OrangeSmsSimulator, WebPushSimulator

from .conftest import Api, make_admin, model, register

pytestmark = [pytest.mark.django_db(transaction=True, databases="__all__"),
              pytest.mark.usefixtures("outbound_loopback")]  # the provider simulators listen on loopback

SN_NUMBER = "+221771234567"
ADAPTERS = "coko.domains.notifications.channels"


def _adapters(settings, **channels: str) -> None:
    cfg = dict(settings.COKO_NOTIFICATIONS)
    cfg["ADAPTERS"] = {**cfg["ADAPTERS"], **channels}
    cfg["MAX_ATTEMPTS"] = dict(cfg["MAX_ATTEMPTS"])
    settings.COKO_NOTIFICATIONS = cfg


@pytest.fixture
def redeliveries(monkeypatch):
    """The actor's own re-enqueues (delivery id, delay ms), instead of the broker."""
    calls: list[tuple[int, int]] = []

    def record(*, args, delay=None, **kw):
        calls.append((args[0], delay))

    monkeypatch.setattr(tasks.notification_deliver, "send_with_options", record)
    return calls


def run_actor(delivery_id: int) -> None:
    tasks.notification_deliver.fn(delivery_id)


# --- SMS (Orange) ------------------------------------------------------------------------------
@pytest.fixture
def orange(settings):
    with OrangeSmsSimulator(client_id="cid", client_secret="csecret") as sim:
        _adapters(settings, sms=f"{ADAPTERS}.sms.OrangeSmsAdapter")
        settings.ORANGE_SMS_BASE_URL = sim.url
        settings.ORANGE_SMS_CLIENT_ID, settings.ORANGE_SMS_CLIENT_SECRET = "cid", "csecret"
        settings.ORANGE_SMS_SENDER, settings.ORANGE_SMS_SENDER_NAME = "+2210000", "Coko"
        yield sim


def test_a_verification_code_by_sms_survives_two_provider_failures(api, orange, redeliveries):
    user_id = register(api, phone=SN_NUMBER, preferred_language="en")
    assert api.post("/auth/verification/request", {"channel": "sms"}).status_code == 202
    event = last_event("accounts", "verification.requested")
    handlers.send_one_time_code(event)
    delivery = model("Delivery").objects.get(notification__user_id=user_id, channel="sms")
    assert delivery.destination == SN_NUMBER

    orange.fail_next(1, status=503, retry_after=7)  # Retry-After longer than the backoff wins
    orange.fail_next(1, status=503)
    run_actor(delivery.id)
    run_actor(delivery.id)
    assert redeliveries == [(delivery.id, 7000), (delivery.id, 4000)]  # 2 s doubled, Retry-After honoured
    run_actor(delivery.id)
    assert len(redeliveries) == 2  # sent: not enqueued again

    delivery.refresh_from_db()
    [sms] = orange.sent
    assert (delivery.status, delivery.attempts, delivery.provider) == ("sent", 3, "orange")
    assert delivery.provider_id == sms["id"]
    attempts = list(model("DeliveryAttempt").objects.filter(delivery=delivery).order_by("number")
                    .values_list("number", "outcome", "provider_id"))
    assert attempts == [(1, "temporary", ""), (2, "temporary", ""), (3, "sent", sms["id"])]
    assert (sms["to"], sms["from"], sms["sender_name"]) == (SN_NUMBER, "+2210000", "Coko")
    code = field_decrypt(event.payload_as(CodeRequested).code_encrypted)
    assert code in sms["message"]
    assert api.post("/auth/verification/confirm", {"channel": "sms", "code": code}).status_code == 204


def test_an_sms_allowed_by_preferences_is_sent_and_a_refused_number_is_not_retried(api, orange, redeliveries):
    user_id = register(api, phone=SN_NUMBER, preferred_language="en")
    assert api.put("/notifications/preferences", {"preferences": [
        {"category": "community", "channel": "sms", "enabled": True}]}).status_code == 200
    services.notification_send(user_id=user_id, template="announcement", category="community",
                               context={"title": "Club", "body": "Ce soir"}, channels=["sms"],
                               idempotency_key="club:1")
    delivery = model("Delivery").objects.get(channel="sms")
    run_actor(delivery.id)
    delivery.refresh_from_db()
    assert delivery.status == "sent" and len(orange.sent) == 1

    orange.invalid_numbers.add(SN_NUMBER)  # the operator no longer serves this number: SVC0004
    services.notification_send(user_id=user_id, template="announcement", category="community",
                               context={"title": "Club", "body": "Demain"}, channels=["sms"],
                               idempotency_key="club:2")
    delivery = model("Delivery").objects.filter(channel="sms").latest("id")
    run_actor(delivery.id)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 1) and "SVC0004" in delivery.error
    assert model("DeliveryAttempt").objects.get(delivery=delivery).outcome == "invalid"
    assert redeliveries == []


def test_an_invalid_phone_number_is_refused_and_nothing_is_stored(orange):
    for phone in ("+221 12", "771234567", "+999123456789"):
        response = Api().register(phone=phone)
        assert response.status_code == 422 and response.data["error"]["code"] == "invalid_phone"
    assert outbox_events("accounts", USER_REGISTERED) == []  # nobody registered
    assert model("Notification").objects.count() == 0
    assert orange.requests == []


# --- push (FCM HTTP v1) ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.fixture
def fcm(settings, rsa_pem):
    with FcmSimulator(project_id="coko-test") as sim:
        _adapters(settings, push=f"{ADAPTERS}.push.FcmPushAdapter")
        settings.FCM_BASE_URL = sim.url
        settings.FCM_SERVICE_ACCOUNT_INFO = {
            "type": "service_account", "project_id": "coko-test", "private_key_id": "k1",
            "private_key": rsa_pem, "client_email": "coko-push@coko-test.iam.gserviceaccount.com",
            "client_id": "1", "token_uri": sim.token_uri}
        yield sim


def _push_welcome(user_id: str, key: str, channel: str = "push"):
    services.notification_send(user_id=user_id, template="welcome", category="account", channels=[channel],
                               idempotency_key=key)
    return model("Delivery").objects.get(notification__idempotency_key=key, channel=channel)


def test_an_unregistered_fcm_token_fails_permanently_and_is_removed(api, fcm, redeliveries):
    user_id = register(api, email="awa@example.sn", preferred_language="en")
    assert api.post("/notifications/subscribe", {"kind": "fcm", "token": "dead-token"}).status_code == 201
    fcm.unregistered_tokens.add("dead-token")
    delivery = _push_welcome(user_id, "push:1")
    run_actor(delivery.id)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 1) and redeliveries == []
    assert model("DeliveryAttempt").objects.get(delivery=delivery).outcome == "invalid"
    assert not model("DeviceToken").objects.exists()
    assert len(fcm.send_calls()) == 1 and fcm.sent == []


def test_a_live_fcm_token_is_sent_and_a_dead_one_beside_it_dropped(api, fcm, redeliveries):
    user_id = register(api, email="awa@example.sn", preferred_language="en")
    for token in ("dead-token", "live-token"):
        assert api.post("/notifications/subscribe", {"kind": "fcm", "token": token}).status_code == 201
    fcm.unregistered_tokens.add("dead-token")
    fcm.fail_next(1, status=503)
    delivery = _push_welcome(user_id, "push:2")
    run_actor(delivery.id)  # 503 for the first device; the second device's token is dropped
    assert redeliveries == [(delivery.id, 2000)]
    run_actor(delivery.id)
    delivery.refresh_from_db()
    [sent] = fcm.sent
    assert sent["token"] == "live-token" and sent["data"]["notification_id"] == str(delivery.notification_id)
    assert (delivery.status, delivery.attempts, delivery.provider) == ("sent", 2, "fcm")
    assert delivery.provider_id == sent["name"]
    assert list(model("DeviceToken").objects.values_list("token", flat=True)) == ["live-token"]
    assert model("DeviceToken").objects.get().last_used_at is not None


# --- Web Push ------------------------------------------------------------------------------------
@pytest.fixture
def webpush(settings):
    from py_vapid import Vapid, b64urlencode

    vapid = Vapid()
    vapid.generate_keys()
    with WebPushSimulator() as sim:
        _adapters(settings, webpush=f"{ADAPTERS}.push.WebPushAdapter")
        settings.WEBPUSH_VAPID_PRIVATE_KEY = b64urlencode(
            vapid.private_key.private_numbers().private_value.to_bytes(32, "big"))
        settings.WEBPUSH_VAPID_SUBJECT = "mailto:ops@coko.test"
        yield sim


def test_a_gone_web_push_subscription_is_removed_and_a_live_one_receives(api, webpush, redeliveries):
    user_id = register(api, email="awa@example.sn", preferred_language="en")
    gone, live = webpush.new_subscription(gone=True), webpush.new_subscription()
    for subscription in (gone, live):
        assert api.post("/notifications/subscribe", {"kind": "webpush", "token": subscription}).status_code == 201
    delivery = _push_welcome(user_id, "wp:1", channel="webpush")
    run_actor(delivery.id)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.provider) == ("sent", 1, "webpush")
    [received] = webpush.received
    assert received["subscription"] == live["endpoint"].rsplit("/", 1)[-1]
    assert json.loads(received["payload"])["data"]["notification_id"] == str(delivery.notification_id)
    [kept] = model("DeviceToken").objects.all()
    assert json.loads(kept.token)["endpoint"] == live["endpoint"]

    webpush.gone.add(received["subscription"])  # now the last one expires too
    delivery = _push_welcome(user_id, "wp:2", channel="webpush")
    run_actor(delivery.id)
    delivery.refresh_from_db()
    assert delivery.status == "failed" and redeliveries == []
    assert not model("DeviceToken").objects.exists()


# --- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,token", [
    ("fcm", "two words"),
    ("fcm", {"endpoint": "https://push.example/x", "keys": {"p256dh": "k", "auth": "a"}}),
    ("webpush", "not-a-subscription"),
    ("webpush", {"endpoint": "ftp://push.example/x", "keys": {"p256dh": "k", "auth": "a"}}),
    ("webpush", {"endpoint": "https://push.example/x", "keys": {"p256dh": "k"}}),
])
def test_an_invalid_device_token_is_refused_in_the_error_envelope(api, kind, token):
    register(api, email="awa@example.sn")
    response = api.post("/notifications/subscribe", {"kind": kind, "token": token})
    assert response.status_code == 422 and response.data["error"]["code"] == "invalid_device_token"
    assert not model("DeviceToken").objects.exists()


def test_staff_send_to_an_sms_user_reaches_the_simulator(api, orange, redeliveries):
    user_id = register(api, phone=SN_NUMBER, preferred_language="en")
    admin = make_admin()
    body = {"user_id": user_id, "template": "announcement", "category": "account",
            "context": {"title": "Hello", "body": "From staff"}, "channels": ["sms"], "idempotency_key": "s:1"}
    assert api.put("/notifications/preferences", {"preferences": [
        {"category": "account", "channel": "sms", "enabled": True}]}).status_code == 200
    sent = admin.post("/notifications/send", body)
    assert sent.status_code == 202 and sent.data["channels"] == ["sms"]
    run_actor(model("Delivery").objects.get(channel="sms").id)
    assert len(orange.sent) == 1 and "From staff" in orange.sent[0]["message"]
