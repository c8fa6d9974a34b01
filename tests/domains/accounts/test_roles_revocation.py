"""A revoked role takes effect at once, and a revocation that would change nothing is refused."""

from __future__ import annotations

import jwt
import pytest
from django.apps import apps

from coko.devtools.testing.api import PASSWORD, Api
from coko.domains.accounts.testing import role_grant_for_test, staff

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
User = apps.get_model("accounts", "User")
AuditEvent = apps.get_model("accounts", "AuditEvent")


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_a_revoked_role_leaves_the_readers_outstanding_tokens_at_once():
    """Attack: a reader whose premium role staff revoked keeps downloading books with the
    token they hold, for the rest of its life. Their next request is refused (401
    token_revoked, reason roles); a refresh gives a token without the role, nobody is logged out."""
    reader = Api()
    registered = reader.register(email="moussa@example.sn")
    role_grant_for_test(user_id=reader.user_id, role="premium")
    login = reader.post("/auth/login", {"identifier": "moussa@example.sn", "password": PASSWORD})
    reader.token, refresh = login.data["access_token"], login.data["refresh_token"]
    assert "premium" in _claims(reader.token)["roles"]
    assert reader.get("/auth/profile").status_code == 200

    assert staff().delete(f"/auth/users/{reader.user_id}/roles/premium").status_code == 204

    refused = reader.get("/auth/profile")
    assert refused.status_code == 401
    assert refused.data["error"]["code"] == "token_revoked"
    assert refused.data["error"]["details"] == {"reason": "roles"}
    old_registration_token = registered.data["tokens"]["access_token"]
    assert reader.get("/auth/profile", token=old_registration_token).status_code == 401
    renewed = reader.post("/auth/refresh", {"refresh_token": refresh})
    assert renewed.status_code == 200
    reader.token = renewed.data["access_token"]
    assert "premium" not in _claims(reader.token)["roles"]
    assert "download_books" not in _claims(reader.token)["permissions"]
    assert reader.get("/auth/profile").status_code == 200


def test_a_role_revoked_in_the_admin_console_takes_effect_at_once(client):
    from django.contrib.auth.models import Group

    reader = Api()
    reader.register(email="fatou@example.sn")
    role_grant_for_test(user_id=reader.user_id, role="premium")
    reader.token = reader.post("/auth/login", {"identifier": "fatou@example.sn",
                                               "password": PASSWORD}).data["access_token"]
    superuser = User.objects.create_superuser("root@coko.africa", "a long staff passphrase")
    client.force_login(superuser)
    user = User.objects.get(id=reader.user_id)
    response = client.post(f"/admin/accounts/user/{user.id}/change/", {
        "email": user.email, "display_name": user.display_name, "preferred_language": "fr",
        "country": "", "is_active": "on", "groups": [Group.objects.get(name="user").id],
        "date_joined_0": "2026-11-28", "date_joined_1": "06:00:00",
    })
    assert response.status_code == 302, response.content[:2000]
    assert AuditEvent.objects.filter(action="role.revoked", user_id=user.id).count() == 1
    assert reader.get("/auth/profile").status_code == 401


def test_revoking_admin_from_a_superuser_is_refused_not_a_silent_no_op():
    """Attack (or mistake): staff "revoke" a superuser's admin role, get a 204 and an audit
    line saying revoked, while the superuser stays an admin. The revocation is refused."""
    root = User.objects.create_superuser("root@coko.africa", "a long staff passphrase")
    admin = staff()
    response = admin.delete(f"/auth/users/{root.id}/roles/admin")
    assert response.status_code == 409
    assert response.data["error"]["code"] == "superuser_is_admin"
    assert response.data["error"]["details"] == {"user_id": str(root.id)}
    french = admin.delete(f"/auth/users/{root.id}/roles/admin", HTTP_ACCEPT_LANGUAGE="fr")
    assert "superutilisateur" in french.data["error"]["message"]
    assert not AuditEvent.objects.filter(action="role.revoked", user_id=root.id).exists()
    login = Api().post("/auth/login", {"identifier": "root@coko.africa", "password": "a long staff passphrase"})
    assert "admin" in _claims(login.data["access_token"])["roles"]
