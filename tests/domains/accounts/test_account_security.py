"""Verification codes, password reset and change, deletion, roles, the audit log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from coko.devtools.testing.api import PASSWORD, Api
from coko.devtools.testing.events import outbox_events
from coko.domains.accounts import api as accounts_api
from coko.domains.accounts import services
from coko.domains.accounts.contracts import PASSWORD_RESET_REQUESTED, USER_DELETED, VERIFICATION_REQUESTED
from coko.domains.accounts.testing import role_grant_for_test, staff

from .conftest import code_sent, payloads

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
User = apps.get_model("accounts", "User")
AuditEvent = apps.get_model("accounts", "AuditEvent")


def test_email_verification_with_a_one_time_code(api):
    api.register()
    assert api.post("/auth/verification/request", {"channel": "email"}).status_code == 202
    [event] = outbox_events("accounts", VERIFICATION_REQUESTED)
    assert event.payload["channel"] == "email" and event.payload["purpose"] == "verify_email"
    assert "code" not in event.payload and event.payload["code_encrypted"]  # the code never travels in clear
    assert api.post("/auth/verification/confirm", {"channel": "email", "code": "000000"}).status_code in {422}
    assert api.post("/auth/verification/confirm",
                    {"channel": "email", "code": code_sent("verify_email")}).status_code == 204
    assert api.get("/auth/profile").data["email_verified"] is True


def test_a_code_stops_working_after_too_many_wrong_attempts(api):
    api.register()
    api.post("/auth/verification/request", {"channel": "email"})
    good = code_sent("verify_email")
    for _ in range(5):
        api.post("/auth/verification/confirm", {"channel": "email", "code": "999999" if good != "999999" else "111111"})
    response = api.post("/auth/verification/confirm", {"channel": "email", "code": good})
    assert response.status_code == 422 and response.data["error"]["code"] == "invalid_code"


def test_phone_verification_needs_a_phone(api):
    api.register()
    response = api.post("/auth/verification/request", {"channel": "sms"})
    assert response.status_code == 422 and response.data["error"]["code"] == "no_destination"


def test_a_phone_code_on_a_server_that_cannot_send_text_messages_is_a_clear_error(api, settings):
    settings.COKO_NOTIFICATIONS = {**settings.COKO_NOTIFICATIONS, "ADAPTERS": {
        **settings.COKO_NOTIFICATIONS["ADAPTERS"], "sms": ""}}
    api.register(phone="+221771234567")
    response = api.post("/auth/verification/request", {"channel": "sms"})
    assert response.status_code == 422
    assert response.data["error"]["code"] == "channel_not_configured"
    assert response.data["error"]["details"] == {"channels": ["sms"]}
    assert outbox_events("accounts", VERIFICATION_REQUESTED) == []


def test_password_reset_says_the_same_for_known_and_unknown_accounts(api):
    api.register()
    known = Api().post("/auth/password/reset", {"identifier": "awa@example.sn"})
    unknown = Api().post("/auth/password/reset", {"identifier": "ghost@example.sn"})
    assert known.status_code == unknown.status_code == 202
    assert known.data == unknown.data
    assert len(outbox_events("accounts", PASSWORD_RESET_REQUESTED)) == 1


def test_password_reset_with_the_code_sets_a_new_password_and_ends_every_session(api):
    tokens = api.register().data["tokens"]
    Api().post("/auth/password/reset", {"identifier": "awa@example.sn"})
    code = code_sent("password_reset")
    bad = Api().post("/auth/password/reset/confirm",
                     {"identifier": "awa@example.sn", "code": code, "new_password": "123"})
    assert bad.status_code == 422 and bad.data["error"]["code"] == "weak_password"
    done = Api().post("/auth/password/reset/confirm",
                      {"identifier": "awa@example.sn", "code": code, "new_password": "baobab under the moon"})
    assert done.status_code == 204
    assert api.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]}).status_code == 401
    assert Api().post("/auth/login", {"identifier": "awa@example.sn", "password": PASSWORD}).status_code == 401
    assert Api().post("/auth/login", {"identifier": "awa@example.sn",
                                      "password": "baobab under the moon"}).status_code == 200
    again = Api().post("/auth/password/reset/confirm",
                       {"identifier": "awa@example.sn", "code": code, "new_password": "another long phrase"})
    assert again.status_code == 422  # a code works once


@pytest.mark.parametrize("identifier", ["awa@example.sn", "+221771234567"])
def test_a_password_reset_lifts_the_login_lockout(api, settings, identifier):
    """A reader locked out (by their own typos or by someone guessing) who resets their
    password signs in with the new one at once, however they spell their address."""
    api.register(**({"email": identifier} if "@" in identifier else {"phone": identifier}))
    settings.ACCOUNTS_LOGIN_LOCKOUT = {"THRESHOLD": 3, "WINDOW_S": 900}
    for _ in range(3):
        Api(ip="102.16.0.9").post("/auth/login", {"identifier": identifier, "password": "guess"})
    locked = Api().post("/auth/login", {"identifier": identifier, "password": PASSWORD})
    assert locked.status_code == 429 and locked.data["error"]["code"] == "locked_out"
    other_spelling = identifier.upper() if "@" in identifier else "+221 77 123 45 67"
    Api().post("/auth/password/reset", {"identifier": other_spelling})
    assert Api().post("/auth/password/reset/confirm", {"identifier": identifier, "code": code_sent("password_reset"),
                                                       "new_password": "baobab under the moon"}).status_code == 204
    assert Api().post("/auth/login", {"identifier": other_spelling,
                                      "password": "baobab under the moon"}).status_code == 200


def test_a_wrong_reset_code_lifts_no_lockout(api, settings):
    api.register()
    settings.ACCOUNTS_LOGIN_LOCKOUT = {"THRESHOLD": 3, "WINDOW_S": 900}
    for _ in range(3):
        Api(ip="102.16.0.9").post("/auth/login", {"identifier": "awa@example.sn", "password": "guess"})
    Api().post("/auth/password/reset", {"identifier": "awa@example.sn"})
    wrong = "000000" if code_sent("password_reset") != "000000" else "111111"
    assert Api().post("/auth/password/reset/confirm", {"identifier": "awa@example.sn", "code": wrong,
                                                       "new_password": "baobab under the moon"}).status_code == 422
    assert Api().post("/auth/login", {"identifier": "awa@example.sn", "password": PASSWORD}).status_code == 429


def test_password_change_keeps_this_session_and_ends_the_others(api):
    api.register()
    other = Api()
    other_tokens = other.post("/auth/login", {"identifier": "awa@example.sn", "password": PASSWORD}).data
    wrong = api.post("/auth/password/change", {"current_password": "nope", "new_password": "baobab under the moon"})
    assert wrong.status_code == 401
    ok = api.post("/auth/password/change", {"current_password": PASSWORD, "new_password": "baobab under the moon"})
    assert ok.status_code == 204
    assert api.get("/auth/profile").status_code == 200
    assert other.post("/auth/refresh", {"refresh_token": other_tokens["refresh_token"]}).status_code == 401
    assert AuditEvent.objects.filter(action="password.changed").count() == 1


@pytest.mark.parametrize("field, identifier", [("phone", "+221771234567"), ("email", "awa@example.sn")])
def test_a_deleted_account_cannot_log_in_and_is_erased_after_the_grace_period(api, field, identifier):
    tokens = api.register(**{field: identifier}).data["tokens"]
    response = api.post("/auth/delete", {"password": PASSWORD})
    assert response.status_code == 202
    [deleted] = payloads(USER_DELETED)
    user = User.objects.get()
    assert deleted.user_id == str(user.id)
    assert Api().post("/auth/login", {"identifier": identifier, "password": PASSWORD}).status_code == 401
    assert api.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]}).status_code == 401

    assert services.accounts_erase_due(now=timezone.now() + timedelta(days=29)) == 0
    assert services.accounts_erase_due(now=timezone.now() + timedelta(days=31)) == 1
    user.refresh_from_db()
    assert (user.email, user.phone, user.phone_hash, user.display_name) == (None, None, None, "")
    assert not user.has_usable_password() and user.erased_at is not None
    assert services.accounts_erase_due(now=timezone.now() + timedelta(days=31)) == 0  # safe to rerun
    assert AuditEvent.objects.filter(user_id=user.id, action="account.erased").count() == 1


def test_the_audit_log_refuses_update_and_delete(api):
    api.register()
    assert AuditEvent.objects.filter(action="user.registered").exists()
    for statement in ("UPDATE accounts_auditevent SET action = 'forged'", "DELETE FROM accounts_auditevent"):
        with pytest.raises(DatabaseError), transaction.atomic(using="accounts"):
            with connections["accounts"].cursor() as cursor:
                cursor.execute(statement)
    assert not AuditEvent.objects.filter(action="forged").exists()


def test_login_success_and_failure_are_audited_with_ip_and_user_agent(api):
    api.register()
    Api(ip="196.1.2.3").post("/auth/login", {"identifier": "awa@example.sn", "password": "nope"},
                             HTTP_USER_AGENT="Tecno Spark")
    failure = AuditEvent.objects.get(action="login.failure")
    assert (failure.ip, failure.user_agent) == ("196.1.2.3", "Tecno Spark")


# --- roles and permissions -------------------------------------------------------------------------------
def test_rbac_as_in_the_brief(api):
    api.register()
    user_id = api.get("/auth/profile").data["id"]
    assert accounts_api.has_permission(user_id=user_id, permission="read_books")
    assert not accounts_api.has_permission(user_id=user_id, permission="download_books")
    role_grant_for_test(user_id=user_id, role="premium")
    assert accounts_api.has_permission(user_id=user_id, permission="download_books")
    role_grant_for_test(user_id=user_id, role="author")
    assert accounts_api.has_permission(user_id=user_id, permission="manage_royalties")
    perms = accounts_api.permissions_for(user_id=user_id)
    assert perms.roles == {"user", "premium", "author"}
    assert perms.permissions == {"read_books", "write_reviews", "download_books", "publish_books",
                                 "manage_royalties"}


def test_staff_grant_and_revoke_roles_through_the_api_and_others_cannot(api):
    api.register()
    user_id = api.get("/auth/profile").data["id"]
    assert api.post(f"/auth/users/{user_id}/roles", {"role": "premium"}).status_code == 403
    admin = staff()
    assert admin.post(f"/auth/users/{user_id}/roles", {"role": "premium"}).status_code == 204
    assert admin.post(f"/auth/users/{user_id}/roles", {"role": "emperor"}).status_code == 422
    assert "download_books" in admin.get(f"/auth/user/{user_id}/permissions").data["permissions"]
    assert admin.delete(f"/auth/users/{user_id}/roles/premium").status_code == 204
    assert "download_books" not in admin.get(f"/auth/user/{user_id}/permissions").data["permissions"]
    assert api.get(f"/auth/user/{user_id}/permissions").status_code == 401  # its token carried premium
    assert AuditEvent.objects.filter(action__in=["role.granted", "role.revoked"], user_id=user_id).count() == 2


def test_a_user_sees_their_own_permissions_not_someone_else_s(api):
    api.register()
    other = Api()
    other.register(email="binta@example.sn")
    other_id = other.get("/auth/profile").data["id"]
    assert api.get(f"/auth/user/{other_id}/permissions").status_code == 403
    assert staff().get(f"/auth/user/{other_id}/permissions").status_code == 200


def test_object_permissions_through_the_facade(api):
    api.register()
    user_id = api.get("/auth/profile").data["id"]
    manuscript = ("accounts.user", user_id)  # any model's content type works; accounts' own here
    assert not accounts_api.has_permission(user_id=user_id, permission="change_user", obj=manuscript)
    accounts_api.object_permission_grant(user_id=user_id, permission="change_user", kind="accounts.user",
                                         object_id=user_id)
    assert accounts_api.has_permission(user_id=user_id, permission="change_user", obj=manuscript)
    other = ("accounts.user", "7d3c56c4-0000-4000-8000-000000000000")
    assert not accounts_api.has_permission(user_id=user_id, permission="change_user", obj=other)


def test_closing_an_account_needs_its_password(api):
    api.register()
    response = api.post("/auth/delete", {"password": "not mine"})
    assert response.status_code == 401
    assert User.objects.get().is_active and not outbox_events("accounts", USER_DELETED)


def test_logout_needs_a_token():
    response = Api().post("/auth/logout")
    assert response.status_code == 401
    assert response.data["error"]["code"] == "unauthorized"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_staff_grant_a_role_in_the_admin_console_and_it_is_audited(api, client):
    from django.contrib.auth.models import Group

    api.register()
    reader = User.objects.get()
    staff = User.objects.create_superuser("staff@coko.africa", "a long staff passphrase")
    client.force_login(staff)
    premium = Group.objects.get_or_create(name="premium")[0]
    user_group = Group.objects.get(name="user")
    form = client.get(f"/admin/accounts/user/{reader.id}/change/")
    assert form.status_code == 200
    response = client.post(f"/admin/accounts/user/{reader.id}/change/", {
        "email": reader.email, "display_name": reader.display_name, "preferred_language": "fr",
        "country": "", "is_active": "on", "groups": [user_group.id, premium.id],
        "date_joined_0": "2026-11-28", "date_joined_1": "06:00:00",
    })
    assert response.status_code == 302, response.content[:2000]
    assert accounts_api.has_permission(user_id=str(reader.id), permission="download_books")
    granted = AuditEvent.objects.get(action="role.granted", user_id=reader.id)
    assert granted.details["role"] == "premium" and granted.details["via"] == "admin"
