"""From an accounts event to an email received by a real SMTP server; preferences, quiet
hours, security bypass, idempotency, retries."""

from __future__ import annotations

import socket
from datetime import datetime, timezone

import pytest

from coko.devtools.testing.events import deliver_pending, last_event
from coko.domains.accounts.contracts import USER_REGISTERED, CodeRequested, UserRegistered
from coko.domains.notifications import handlers, services
from coko.domains.notifications import channels as ch
from coko.domains.notifications.testing import inbox_titles
from coko.platform.errors import NotFound, Unprocessable
from coko.platform.events import Event
from coko.platform.events.declared import payload_dump
from coko.platform.events.delivery import apply_events

from .conftest import Api, deliver_all, model, register

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_user_registered_sends_a_welcome_email_in_the_users_language(api, smtp):
    user_id = register(api, email="awa@example.sn", display_name="Awa", preferred_language="fr")
    handlers.welcome_new_user(last_event("accounts", "user.registered"))
    notification = model("Notification").objects.get(user_id=user_id)
    assert (notification.template, notification.category, notification.language) == ("welcome", "account", "fr")
    assert set(notification.deliveries.values_list("channel", flat=True)) == {"email", "inapp"}
    deliver_all()
    [message] = smtp.to("awa@example.sn")
    assert message["Subject"] == "Bienvenue sur Coko, Awa !"
    assert "Bonjour Awa" in message.get_body(("plain",)).get_content()
    assert "<strong>Coko</strong>" in message.get_body(("html",)).get_content()
    delivery = model("Delivery").objects.get(notification=notification, channel="email")
    assert (delivery.status, delivery.attempts, delivery.provider) == ("sent", 1, "smtp")
    assert delivery.provider_id == message["Message-ID"]
    assert model("DeliveryAttempt").objects.get(delivery=delivery).outcome == "sent"
    assert model("InboxItem").objects.get(user_id=user_id).title == "Bienvenue sur Coko, Awa !"
    assert inbox_titles(api) == ["Bienvenue sur Coko, Awa !"]


def test_a_language_without_templates_falls_back_to_english(api, smtp):
    register(api, email="moussa@example.sn", display_name="Moussa", preferred_language="wo")
    handlers.welcome_new_user(last_event("accounts", "user.registered"))
    deliver_all()
    [message] = smtp.to("moussa@example.sn")
    assert message["Subject"] == "Welcome to Coko, Moussa!"


def test_the_verification_code_is_emailed_and_never_stored_in_clear(api, smtp):
    user_id = register(api, email="fatou@example.sn", preferred_language="en")
    assert api.post("/auth/verification/request", {"channel": "email"}).status_code == 202
    event = last_event("accounts", "verification.requested")
    handlers.send_one_time_code(event)
    notification = model("Notification").objects.get(user_id=user_id, template="verification_code")
    assert notification.category == "security" and "code" not in notification.context
    assert list(notification.deliveries.values_list("channel", flat=True)) == ["email"]
    deliver_all()
    [message] = smtp.to("fatou@example.sn")
    from coko.platform.crypto import field_decrypt

    code = field_decrypt(event.payload_as(CodeRequested).code_encrypted)
    assert code in message["Subject"] and code in message.get_body(("plain",)).get_content()
    assert api.post("/auth/verification/confirm", {"channel": "email", "code": code}).status_code == 204


def test_password_reset_code_is_sent(api, smtp):
    register(api, email="ibou@example.sn", preferred_language="fr")
    assert Api().post("/auth/password/reset", {"identifier": "ibou@example.sn"}).status_code in (202, 204)
    handlers.send_one_time_code(last_event("accounts", "password_reset.requested"))
    deliver_all()
    [message] = smtp.to("ibou@example.sn")
    assert message["Subject"].startswith("Réinitialisez votre mot de passe Coko")


def test_a_duplicate_event_sends_once(api, smtp):
    register(api, email="awa@example.sn")
    event = last_event("accounts", "user.registered")
    # as the worker applies it: in the inbox transaction, twice (at-least-once delivery)
    assert deliver_pending(producer="accounts", handler="notifications.welcome_new_user") == 1
    deliver_all()
    apply_events(handler="notifications.welcome_new_user", events=[event.to_dict()])  # delivered again
    handlers.welcome_new_user(event)  # even past the inbox, the idempotency key holds
    deliver_all()
    assert model("Notification").objects.count() == 1
    assert len(smtp.to("awa@example.sn")) == 1
    again = services.notification_send(user_id=event.payload_as(UserRegistered).user_id, template="welcome", category="account",
                                       idempotency_key=f"{event.type}:{event.id}")
    assert again.created is False and set(again.channels) == {"email", "inapp"}


def test_a_delivery_attempted_twice_is_sent_once(api, smtp):
    register(api, email="awa@example.sn")
    handlers.welcome_new_user(last_event("accounts", "user.registered"))
    delivery = model("Delivery").objects.get(channel="email")
    assert services.delivery_attempt(delivery_id=delivery.id).status == "sent"
    assert services.delivery_attempt(delivery_id=delivery.id) is None  # a redelivered task message
    assert len(smtp.messages) == 1


def test_opt_outs_are_honoured_but_security_messages_bypass_them(api, smtp):
    user_id = register(api, email="awa@example.sn", preferred_language="en")
    response = api.put("/notifications/preferences", {"preferences": [
        {"category": "account", "channel": "email", "enabled": False}]})
    assert response.status_code == 200
    queued = services.notification_send(user_id=user_id, template="welcome", category="account",
                                        idempotency_key="t:1")
    assert queued.channels == ("inapp",)
    # marketing is off by default
    assert services.notification_send(user_id=user_id, template="announcement", category="marketing",
                                      context={"title": "Promo", "body": "-50%"},
                                      idempotency_key="t:2").channels == ()
    # security ignores every opt-out
    assert api.put("/notifications/preferences", {"preferences": [
        {"category": c, "channel": "email", "enabled": False} for c in ("account", "reading", "marketing")]}
    ).status_code == 200
    queued = services.notification_send(user_id=user_id, template="announcement", category="security",
                                        context={"title": "New login", "body": "A new device logged in."},
                                        channels=["email"], idempotency_key="t:3")
    assert queued.channels == ("email",)
    deliver_all()
    assert [m["Subject"] for m in smtp.messages] == ["New login"]


def test_marketing_respects_an_opt_in(api, smtp):
    user_id = register(api, email="awa@example.sn", preferred_language="en")
    api.put("/notifications/preferences", {"preferences": [
        {"category": "marketing", "channel": "email", "enabled": True}]})
    queued = services.notification_send(user_id=user_id, template="announcement", category="marketing",
                                        context={"title": "Promo", "body": "-50%"}, idempotency_key="m:1")
    assert queued.channels == ("email",)


def test_quiet_hours_in_the_users_time_zone_hold_messages_back_but_not_security(api, smtp):
    user_id = register(api, email="awa@example.sn", preferred_language="en")
    response = api.put("/notifications/preferences", {
        "time_zone": "Africa/Nairobi", "quiet_hours": {"start": "22:00", "end": "07:00"}})
    assert response.status_code == 200
    assert response.data["quiet_hours"] == {"start": "22:00:00", "end": "07:00:00"}
    night = datetime(2026, 3, 2, 20, 30, tzinfo=timezone.utc)  # 23:30 in Nairobi (UTC+3)
    services.notification_send(user_id=user_id, template="welcome", category="account",
                               idempotency_key="q:1", now=night)
    held = model("Delivery").objects.get(channel="email", notification__idempotency_key="q:1")
    assert held.not_before == datetime(2026, 3, 3, 4, 0, tzinfo=timezone.utc)  # 07:00 in Nairobi
    assert model("Delivery").objects.get(channel="inapp", notification__idempotency_key="q:1").not_before is None
    result = services.delivery_attempt(delivery_id=held.id, now=night)
    assert result.status == "queued" and result.retry_in_ms > 0 and smtp.messages == []
    services.notification_send(user_id=user_id, template="announcement", category="security",
                               context={"title": "Code", "body": "123456"}, channels=["email"],
                               idempotency_key="q:2", now=night)
    deliver_all(now=night)
    assert [m["Subject"] for m in smtp.messages] == ["Code"]
    deliver_all(now=datetime(2026, 3, 3, 4, 1, tzinfo=timezone.utc))
    assert [m["Subject"] for m in smtp.messages] == ["Code", "Welcome to Coko, Awa!"]


def test_an_smtp_server_failing_twice_then_accepting_is_retried_with_backoff(api, smtp, settings):
    user_id = register(api, email="awa@example.sn", preferred_language="en")
    smtp.failures = ["451 4.3.0 Try again later", "421 4.3.2 Service not available"]
    services.notification_send(user_id=user_id, template="welcome", category="account", channels=["email"],
                               idempotency_key="r:1")
    delivery = model("Delivery").objects.get(channel="email")
    first = services.delivery_attempt(delivery_id=delivery.id)
    second = services.delivery_attempt(delivery_id=delivery.id)
    assert (first.status, second.status) == ("queued", "queued")
    assert second.retry_in_ms == 2 * first.retry_in_ms  # exponential backoff
    assert services.delivery_attempt(delivery_id=delivery.id).status == "sent"
    delivery.refresh_from_db()
    assert delivery.attempts == 3 and len(smtp.messages) == 1
    assert list(delivery.attempt_log.order_by("number").values_list("outcome", flat=True)) == [
        "temporary", "temporary", "sent"]


def test_a_permanent_smtp_refusal_fails_without_retry(api, smtp):
    user_id = register(api, email="awa@example.sn", preferred_language="en")
    smtp.failures = ["554 5.7.1 Message rejected"]
    services.notification_send(user_id=user_id, template="welcome", category="account", channels=["email"],
                               idempotency_key="p:1")
    delivery = model("Delivery").objects.get(channel="email")
    result = services.delivery_attempt(delivery_id=delivery.id)
    assert result.status == "failed" and result.retry_in_ms is None
    delivery.refresh_from_db()
    assert "554" in delivery.error


def test_temporary_failures_stop_after_the_channels_attempts(api, settings):
    user_id = register(api, email="awa@example.sn", preferred_language="en")
    with socket.socket() as probe:  # a port nothing listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"  # pytest-django's is locmem
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port
    settings.COKO_NOTIFICATIONS = {**settings.COKO_NOTIFICATIONS, "MAX_ATTEMPTS": {"default": 2}}
    services.notification_send(user_id=user_id, template="welcome", category="account", channels=["email"],
                               idempotency_key="x:1")
    delivery = model("Delivery").objects.get(channel="email")
    assert services.delivery_attempt(delivery_id=delivery.id).status == "queued"
    assert services.delivery_attempt(delivery_id=delivery.id).status == "failed"


class FakePush:
    """A push adapter that refuses one token as unregistered (the FCM simulator lives with the
    push adapters; this checks the domain's token clean-up)."""

    name = "push"
    sent: list[str] = []

    def send(self, message: ch.Outgoing) -> ch.Sent:
        if message.to == "dead-token":
            raise ch.InvalidRecipient("UNREGISTERED")
        FakePush.sent.append(message.to)
        return ch.Sent(provider="fake-fcm", provider_id=f"projects/p/messages/{len(FakePush.sent)}")


def test_an_invalid_push_token_is_removed(api, settings):
    user_id = register(api, email="awa@example.sn", preferred_language="en")
    settings.COKO_NOTIFICATIONS = {**settings.COKO_NOTIFICATIONS, "ADAPTERS": {
        **settings.COKO_NOTIFICATIONS["ADAPTERS"], "push": f"{__name__}.FakePush"}}
    for token in ("dead-token", "live-token"):
        assert api.post("/notifications/subscribe", {"kind": "fcm", "token": token}).status_code == 201
    FakePush.sent = []
    services.notification_send(user_id=user_id, template="welcome", category="account", channels=["push"],
                               idempotency_key="push:1")
    deliver_all()
    assert FakePush.sent == ["live-token"]
    assert list(model("DeviceToken").objects.values_list("token", flat=True)) == ["live-token"]
    assert model("Delivery").objects.get(channel="push").status == "sent"


def test_unknown_template_and_unknown_user_are_refused(api):
    user_id = register(api, email="awa@example.sn")
    with pytest.raises(Unprocessable) as error:
        services.notification_send(user_id=user_id, template="nope", category="account", idempotency_key="e:1")
    assert error.value.code == "unknown_template"
    with pytest.raises(NotFound) as error:
        services.notification_send(user_id="00000000-0000-0000-0000-000000000000", template="welcome",
                                   category="account", idempotency_key="e:2")
    assert error.value.code == "user_not_found"
    assert model("Notification").objects.count() == 0


def test_an_event_for_an_erased_user_is_skipped():
    erased = "00000000-0000-0000-0000-000000000000"
    payload = UserRegistered(user_id=erased, display_name="Awa", preferred_language="fr", country="SN",
                             has_email=True, has_phone=False, marketing_consent=False, via="password")
    handlers.welcome_new_user(Event(type=USER_REGISTERED, producer="accounts", aggregate_id=erased,
                                    payload=payload_dump(payload)))
    assert model("Notification").objects.count() == 0
