"""The notifications routes, as a client uses them."""

from __future__ import annotations

import pytest

from coko.domains.notifications import services

from .conftest import Api, deliver_all, make_admin, model, register

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def _announce(user_id: str, n: int) -> None:
    for i in range(n):
        services.notification_send(user_id=user_id, template="announcement", category="community",
                                   context={"title": f"News {i}", "body": f"Body {i}"}, channels=["inapp"],
                                   idempotency_key=f"news:{user_id}:{i}")
    deliver_all()


def test_the_inbox_is_paginated_newest_first_with_an_unread_count(api):
    user_id = register(api, email="awa@example.sn", preferred_language="en")
    _announce(user_id, 5)
    first = api.get("/notifications?limit=2")
    assert first.status_code == 200
    assert (first.data["count"], first.data["unread"], first.data["limit"], first.data["offset"]) == (5, 5, 2, 0)
    assert [i["title"] for i in first.data["items"]] == ["News 4", "News 3"]
    rest = api.get("/notifications?limit=2&offset=4").data
    assert [i["title"] for i in rest["items"]] == ["News 0"]
    item = first.data["items"][0]
    read = api.post(f"/notifications/{item['id']}/read")
    assert read.status_code == 200 and read.data["read"] is True and read.data["read_at"]
    assert api.post(f"/notifications/{item['id']}/read").data["read_at"] == read.data["read_at"]
    again = api.get("/notifications?limit=2").data
    assert again["unread"] == 4 and again["items"][0]["read"] is True


def test_a_user_cannot_read_or_mark_someone_elses_messages(api):
    user_id = register(api, email="awa@example.sn")
    _announce(user_id, 1)
    other = Api()
    register(other, email="moussa@example.sn")
    assert other.get("/notifications").data["count"] == 0
    item_id = api.get("/notifications").data["items"][0]["id"]
    response = other.post(f"/notifications/{item_id}/read")
    assert response.status_code == 404 and response.data["error"]["code"] == "notification_not_found"


def test_the_inbox_needs_a_token_and_valid_paging():
    assert Api().get("/notifications").status_code == 401
    api = Api()
    register(api, email="awa@example.sn")
    response = api.get("/notifications?limit=0")
    assert response.status_code == 422 and response.data["error"]["code"] == "validation_error"


def test_an_offset_past_any_inbox_is_a_422_not_a_database_error(api):
    """Found by the OpenAPI fuzz (issue 10): an offset beyond PostgreSQL's bigint was a 500."""
    register(api, email="awa@example.sn")
    response = api.get("/notifications?offset=31857243629608736380682240")
    assert response.status_code == 422 and response.data["error"]["code"] == "validation_error"
    assert response.data["error"]["details"][0]["loc"] == ["query", "offset"]
    assert api.get("/notifications?offset=10000").status_code == 200


def test_preferences_default_marketing_off_and_can_be_changed(api):
    register(api, email="awa@example.sn")
    prefs = api.get("/notifications/preferences").data
    values = {(p["category"], p["channel"]): p["enabled"] for p in prefs["preferences"]}
    assert values[("marketing", "email")] is False and values[("account", "email")] is True
    assert ("security", "email") not in values
    assert prefs["quiet_hours"] is None
    response = api.put("/notifications/preferences", {
        "preferences": [{"category": "reading", "channel": "push", "enabled": False}],
        "time_zone": "Africa/Abidjan", "quiet_hours": {"start": "21:30", "end": "06:00"}})
    assert response.status_code == 200
    values = {(p["category"], p["channel"]): p["enabled"] for p in response.data["preferences"]}
    assert values[("reading", "push")] is False
    assert response.data["time_zone"] == "Africa/Abidjan"
    cleared = api.put("/notifications/preferences", {"clear_quiet_hours": True})
    assert cleared.data["quiet_hours"] is None


def test_bad_preferences_are_refused_in_the_envelope(api):
    register(api, email="awa@example.sn")
    bad_category = api.put("/notifications/preferences", {
        "preferences": [{"category": "security", "channel": "email", "enabled": False}]})
    assert bad_category.status_code == 422 and bad_category.data["error"]["code"] == "validation_error"
    bad_zone = api.put("/notifications/preferences", {"time_zone": "Mars/Olympus"})
    assert bad_zone.status_code == 422 and bad_zone.data["error"]["code"] == "invalid_time_zone"


def test_quiet_hours_are_times_on_the_user_s_clock_and_nothing_else(api):
    """Found by the OpenAPI fuzz (issue 10): an offset was silently dropped, a number of seconds
    taken for a time, and the answer's "22:00:00" did not match the documented format (RFC 3339
    ``time``, which requires an offset). Now HH:MM[:SS] only, documented as such."""
    register(api, email="awa@example.sn")
    for bad in ("22:00+05:00", "07:00Z", 3600, "22:00:00.5", "24:00", "7:00"):
        response = api.put("/notifications/preferences", {"quiet_hours": {"start": bad, "end": "06:00"}})
        assert response.status_code == 422, bad
        assert response.data["error"]["details"][0]["loc"] == ["body", "quiet_hours", "start"], bad
    assert api.get("/notifications/preferences").data["quiet_hours"] is None  # nothing changed
    fine = api.put("/notifications/preferences", {"quiet_hours": {"start": "21:30", "end": "06:00:30"}})
    assert fine.data["quiet_hours"] == {"start": "21:30:00", "end": "06:00:30"}


def test_devices_subscribe_and_unsubscribe(api):
    user_id = register(api, email="awa@example.sn")
    subscription = {"endpoint": "https://fcm.googleapis.com/fcm/send/abc", "keys": {"p256dh": "k", "auth": "a"}}
    assert api.post("/notifications/subscribe", {"kind": "webpush", "token": subscription}).status_code == 201
    assert api.post("/notifications/subscribe", {"kind": "fcm", "token": "fcm-token-1"}).status_code == 201
    assert api.post("/notifications/subscribe", {"kind": "fcm", "token": "fcm-token-1"}).status_code == 201
    assert model("DeviceToken").objects.filter(user_id=user_id).count() == 2
    assert api.call("delete", "/notifications/subscribe", {"token": "fcm-token-1"}).status_code == 204
    assert list(model("DeviceToken").objects.values_list("kind", flat=True)) == ["webpush"]
    bad = api.post("/notifications/subscribe", {"kind": "carrier-pigeon", "token": "x"})
    assert bad.status_code == 422


def test_send_is_for_staff_only_and_refuses_bad_input(api, smtp):
    user_id = register(api, email="awa@example.sn", preferred_language="en")
    body = {"user_id": user_id, "template": "announcement", "category": "account",
            "context": {"title": "Hello", "body": "From staff"}, "channels": ["email", "inapp"],
            "idempotency_key": "staff:1"}
    denied = api.post("/notifications/send", body)
    assert denied.status_code == 403 and denied.data["error"]["code"] == "permission_denied"
    admin = make_admin()
    sent = admin.post("/notifications/send", body)
    assert sent.status_code == 202 and sent.data["channels"] == ["email", "inapp"] and sent.data["created"]
    again = admin.post("/notifications/send", body)
    assert again.data["notification_id"] == sent.data["notification_id"] and again.data["created"] is False
    deliver_all()
    assert [m["Subject"] for m in smtp.to("awa@example.sn")] == ["Hello"]

    unknown_template = admin.post("/notifications/send", {**body, "template": "nope", "idempotency_key": "s:2"})
    assert unknown_template.status_code == 422
    assert unknown_template.data["error"]["code"] == "unknown_template"
    unknown_user = admin.post("/notifications/send", {
        **body, "user_id": "00000000-0000-0000-0000-000000000000", "idempotency_key": "s:3"})
    assert unknown_user.status_code == 404 and unknown_user.data["error"]["code"] == "user_not_found"
    bad_channel = admin.post("/notifications/send", {**body, "channels": ["fax"], "idempotency_key": "s:4"})
    assert bad_channel.status_code == 422 and bad_channel.data["error"]["code"] == "validation_error"
    assert model("Notification").objects.count() == 1


def test_a_channel_this_server_cannot_send_on_is_a_clear_error_not_a_202(api, settings):
    """No SMS adapter configured (the default): staff asking for a text message are told so,
    and nothing is queued, instead of a 202 for a delivery recorded as failed."""
    settings.COKO_NOTIFICATIONS = {**settings.COKO_NOTIFICATIONS, "ADAPTERS": {
        **settings.COKO_NOTIFICATIONS["ADAPTERS"], "sms": ""}}
    user_id = register(api, phone="+221771234567", preferred_language="en")
    body = {"user_id": user_id, "template": "announcement", "category": "account",
            "context": {"title": "Hello", "body": "From staff"}, "channels": ["sms", "inapp"],
            "idempotency_key": "staff:sms"}
    refused = make_admin().post("/notifications/send", body)
    assert refused.status_code == 422
    assert refused.data["error"]["code"] == "channel_not_configured"
    assert refused.data["error"]["details"] == {"channels": ["sms"]}
    assert model("Notification").objects.count() == 0


def test_without_named_channels_only_the_channels_this_server_can_use_are_queued(api, settings):
    settings.COKO_NOTIFICATIONS = {**settings.COKO_NOTIFICATIONS, "ADAPTERS": {
        **settings.COKO_NOTIFICATIONS["ADAPTERS"], "sms": ""}}
    user_id = register(api, phone="+221771234567", preferred_language="en")
    sent = make_admin().post("/notifications/send", {
        "user_id": user_id, "template": "announcement", "category": "account",
        "context": {"title": "Hello", "body": "From staff"}, "idempotency_key": "staff:any"})
    assert sent.status_code == 202 and sent.data["channels"] == ["inapp"]
    assert not model("Delivery").objects.filter(status="failed").exists()
