"""App passwords for e-reader apps: OPDS over HTTP Basic without the account's own password,
revocable one by one; with two-factor authentication on, the main password no longer opens
Basic at all."""

from __future__ import annotations

import base64

import pyotp
import pytest
from django.apps import apps
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from coko.devtools.testing.api import PASSWORD, Api

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
AppPassword = apps.get_model("accounts", "AppPassword")
AuditEvent = apps.get_model("accounts", "AuditEvent")


def _opds(identifier: str, password: str, *, ip: str = "41.82.214.9"):
    value = base64.b64encode(f"{identifier}:{password}".encode()).decode()
    return Client(REMOTE_ADDR=ip).get("/opds/", HTTP_AUTHORIZATION=f"Basic {value}")


@pytest.fixture
def awa(api):
    api.register(email="awa@example.sn")
    return api


def _create(api: Api, name: str = "KOReader on my Kobo") -> dict:
    answer = api.post("/auth/app-passwords", {"name": name})
    assert answer.status_code == 201, answer.data
    return answer.data


def test_an_app_password_opens_opds_and_stops_when_revoked(awa):
    made = _create(awa)
    assert len(made["password"]) == 29  # six groups of four, dashes between
    assert _opds("awa@example.sn", made["password"]).status_code == 200
    assert _opds("awa@example.sn", made["password"].replace("-", "").upper()).status_code == 200  # as typed
    assert awa.delete(f"/auth/app-passwords/{made['id']}").status_code == 204
    refused = _opds("awa@example.sn", made["password"])
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Basic")
    assert [a.action for a in AuditEvent.objects.filter(action__startswith="app_password.").order_by("id")] == [
        "app_password.created", "app_password.revoked"]


def test_an_app_password_is_shown_once_listed_without_its_secret_and_stored_hashed(awa):
    made = _create(awa)
    listed = awa.get("/auth/app-passwords").data
    assert listed == [{"id": made["id"], "name": "KOReader on my Kobo", "created_at": made["created_at"],
                       "last_used_at": None}]
    stored = AppPassword.objects.get(id=made["id"])
    assert made["password"].replace("-", "") not in stored.secret_hash
    assert len(stored.secret_hash) == 64


def test_an_app_password_opens_only_its_own_account(awa):
    made = _create(awa)
    Api(ip="41.82.7.7").register(email="fatou@example.sn")
    assert _opds("fatou@example.sn", made["password"]).status_code == 401


def test_revoking_someone_else_s_app_password_is_not_found(awa):
    made = _create(awa)
    other = Api(ip="41.82.7.7")
    other.register(email="fatou@example.sn")
    answer = other.delete(f"/auth/app-passwords/{made['id']}")
    assert answer.status_code == 404 and answer.data["error"]["code"] == "app_password_not_found"
    assert _opds("awa@example.sn", made["password"]).status_code == 200


def test_last_used_is_written_at_most_once_a_minute(awa):
    """A catalogue walk is many requests: one write for all of them, not one each."""
    made = _create(awa)
    assert _opds("awa@example.sn", made["password"]).status_code == 200
    first = AppPassword.objects.get(id=made["id"]).last_used_at
    assert first is not None
    with CaptureQueriesContext(connections["accounts"]) as queries:
        assert _opds("awa@example.sn", made["password"]).status_code == 200
    assert not [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert AppPassword.objects.get(id=made["id"]).last_used_at == first
    assert awa.get("/auth/app-passwords").data[0]["last_used_at"] is not None


def test_the_main_password_still_opens_basic_while_two_factor_is_off(awa):
    assert _opds("awa@example.sn", PASSWORD).status_code == 200


def test_with_two_factor_on_the_main_password_is_refused_over_basic(awa, clock):
    """Attack: the password leaked; two-factor authentication must not be bypassed through the
    OPDS feeds, even by an app that had the password remembered before."""
    assert _opds("awa@example.sn", PASSWORD).status_code == 200  # remembered by the Basic cache
    made = _create(awa)
    secret = awa.post("/auth/2fa/enrol", {"password": PASSWORD}).data["secret"]
    assert awa.post("/auth/2fa/confirm", {"code": pyotp.TOTP(secret).at(clock.time())}).status_code == 200
    assert _opds("awa@example.sn", PASSWORD).status_code == 401
    assert _opds("awa@example.sn", made["password"]).status_code == 200
    assert AuditEvent.objects.filter(action="basic.password_refused", user_id=awa.user_id).exists()


def test_wrong_basic_passwords_lock_the_account_out_as_logins_do(awa, settings):
    settings.ACCOUNTS_LOGIN_LOCKOUT = {"THRESHOLD": 3, "WINDOW_S": 900}
    made = _create(awa)
    for n in range(3):
        assert _opds("awa@example.sn", "not the password", ip=f"41.82.9.{n + 1}").status_code == 401
    assert _opds("awa@example.sn", PASSWORD, ip="41.82.9.9").status_code == 429
    # the owner's reading app is not held back: 120 random bits are not what was being guessed
    assert _opds("awa@example.sn", made["password"], ip="41.82.9.9").status_code == 200


def test_app_passwords_are_capped(awa, settings):
    from coko.domains.accounts.services import app_passwords

    for n in range(app_passwords.APP_PASSWORDS_MAX):
        _create(awa, name=f"app {n}")
    answer = awa.post("/auth/app-passwords", {"name": "one more"})
    assert answer.status_code == 422 and answer.data["error"]["code"] == "app_password_limit"
