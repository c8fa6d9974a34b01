"""My sessions and devices: each one listed readably, ended one by one, or all at once."""

from __future__ import annotations

import pytest
from django.apps import apps

from coko.devtools.testing.api import PASSWORD, Api
from coko.domains.accounts.devices import ip_coarse, user_agent_summary

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
AuditEvent = apps.get_model("accounts", "AuditEvent")

PHONE_FIREFOX = "Mozilla/5.0 (Android 14; Mobile; rv:128.0) Gecko/128.0 Firefox/128.0"
DESKTOP_CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/126.0.0.0 Safari/537.36")


def _login(email: str, *, ip: str, agent: str) -> Api:
    device = Api(ip=ip)
    answer = device.post("/auth/login", {"identifier": email, "password": PASSWORD}, HTTP_USER_AGENT=agent)
    assert answer.status_code == 200, answer.data
    device.token, device.tokens = answer.data["access_token"], answer.data
    return device


@pytest.fixture
def awa(api):
    api.register(email="awa@example.sn")
    return api


def test_my_sessions_name_each_device_its_network_and_which_one_is_mine(awa):
    phone = _login("awa@example.sn", ip="41.82.214.9", agent=PHONE_FIREFOX)
    _login("awa@example.sn", ip="2c0f:f5c0:4a1::7", agent=DESKTOP_CHROME)

    listed = phone.get("/auth/sessions")
    assert listed.status_code == 200
    by_device = {s["device"]: s for s in listed.data}
    assert set(by_device) >= {"Firefox on Android", "Chrome on Windows"}
    assert len(listed.data) == 3  # the registration's session too
    assert by_device["Firefox on Android"]["ip_network"] == "41.82.214.0/24"
    assert by_device["Chrome on Windows"]["ip_network"] == "2c0f:f5c0:4a1::/48"
    assert [s["current"] for s in listed.data].count(True) == 1
    assert by_device["Firefox on Android"]["current"] is True
    assert by_device["Firefox on Android"]["id"] == phone.tokens["session_id"]
    assert by_device["Firefox on Android"]["created_at"] <= by_device["Firefox on Android"]["last_used_at"]


def test_a_refresh_keeps_one_session_started_when_it_was(awa):
    phone = _login("awa@example.sn", ip="41.82.214.9", agent=PHONE_FIREFOX)
    before = {s["id"]: s for s in phone.get("/auth/sessions").data}[phone.tokens["session_id"]]
    assert phone.post("/auth/refresh", {"refresh_token": phone.tokens["refresh_token"]}).status_code == 200
    after = {s["id"]: s for s in phone.get("/auth/sessions").data}
    assert len(after) == 2
    assert after[phone.tokens["session_id"]]["created_at"] == before["created_at"]
    assert after[phone.tokens["session_id"]]["last_used_at"] >= before["last_used_at"]


def test_an_ended_session_s_tokens_are_refused_at_once(awa):
    """Attack: a phone was lost; its access token must not work for the rest of its lifetime."""
    lost = _login("awa@example.sn", ip="41.82.214.9", agent=PHONE_FIREFOX)
    assert awa.delete(f"/auth/sessions/{lost.tokens['session_id']}").status_code == 204
    assert lost.get("/auth/profile").status_code == 401
    assert lost.post("/auth/refresh", {"refresh_token": lost.tokens["refresh_token"]}).status_code == 401
    assert awa.get("/auth/profile").status_code == 200
    assert lost.tokens["session_id"] not in {s["id"] for s in awa.get("/auth/sessions").data}
    assert AuditEvent.objects.filter(action="session.ended", details__session_id=lost.tokens["session_id"]).exists()
    assert awa.delete(f"/auth/sessions/{lost.tokens['session_id']}").status_code == 404  # ended already


def test_someone_else_s_session_is_not_found(awa):
    """Attack: ending (or probing) another reader's session by its id."""
    other = Api(ip="41.82.7.7")
    other.register(email="fatou@example.sn")
    theirs = other.get("/auth/sessions").data[0]["id"]
    answer = awa.delete(f"/auth/sessions/{theirs}")
    assert answer.status_code == 404
    assert answer.data["error"]["code"] == "session_not_found"
    assert other.get("/auth/profile").status_code == 200


def test_log_out_everywhere_ends_every_session_this_one_too(awa):
    phone = _login("awa@example.sn", ip="41.82.214.9", agent=PHONE_FIREFOX)
    answer = awa.delete("/auth/sessions")
    assert answer.status_code == 200 and answer.data == {"ended": 2}
    assert phone.get("/auth/profile").status_code == 401
    assert awa.get("/auth/profile").status_code == 401


def test_log_out_everywhere_else_keeps_this_session(awa):
    phone = _login("awa@example.sn", ip="41.82.214.9", agent=PHONE_FIREFOX)
    answer = awa.delete("/auth/sessions?keep_current=true")
    assert answer.status_code == 200 and answer.data == {"ended": 1}
    assert phone.get("/auth/profile").status_code == 401
    assert [s["current"] for s in awa.get("/auth/sessions").data] == [True]
    assert AuditEvent.objects.filter(action="sessions.ended_all", user_id=awa.user_id).count() == 1


@pytest.mark.parametrize(("agent", "shown"), [
    (PHONE_FIREFOX, "Firefox on Android"),
    (DESKTOP_CHROME, "Chrome on Windows"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Mobile/15E148 Safari/604.1", "Safari on iOS"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
     "Safari/537.36 Edg/126.0.0.0", "Edge on Windows"),
    ("KOReader/2024.07 (https://koreader.rocks/) Linux", "KOReader on Linux"),
    ("okhttp/4.12.0", "okhttp"),
    ("", "Unknown device"),
])
def test_a_user_agent_is_summarised_as_app_and_system(agent, shown):
    assert user_agent_summary(agent) == shown


def test_an_address_is_shown_by_its_network():
    assert ip_coarse("41.82.214.9") == "41.82.214.0/24"
    assert ip_coarse(None) is None and ip_coarse("not an address") is None
