"""accounts.testing: the people other domains' tests are made of hold what they claim to."""

from __future__ import annotations

import jwt
import pytest

from coko.domains.accounts import api as accounts_api
from coko.domains.accounts.testing import (
    PASSWORD,
    anonymous,
    console_login,
    role_grant_for_test,
    signed_in_again,
    staff,
    user_with_roles,
)

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def claims(api) -> dict:
    return jwt.decode(api.token, options={"verify_signature": False})


def test_user_with_roles_is_signed_in_with_a_token_carrying_them():
    author = user_with_roles("author", email="aminata@example.sn", display_name="Aminata", preferred_language="en")
    assert claims(author)["roles"] == ["author", "user"] and "publish_books" in claims(author)["permissions"]
    profile = author.get("/auth/profile").data
    assert (profile["id"], profile["email"], profile["display_name"], profile["preferred_language"]) == (
        author.user_id, "aminata@example.sn", "Aminata", "en")
    assert author.post("/auth/login", {"identifier": author.email, "password": PASSWORD}).status_code == 200


def test_staff_hold_every_permission_and_anonymous_none():
    admin = staff(email="staff@coko.africa")
    assert "*" in claims(admin)["permissions"] and admin.email == "staff@coko.africa"
    assert anonymous().get("/auth/profile").status_code == 401


def test_a_role_granted_later_reaches_the_next_token():
    reader = user_with_roles()
    role_grant_for_test(user_id=reader.user_id, role="premium")
    assert accounts_api.has_permission(user_id=reader.user_id, permission="download_books")
    assert "download_books" not in claims(reader)["permissions"]
    assert "download_books" in claims(signed_in_again(reader))["permissions"]


def test_console_login_opens_the_admin_console(client):
    assert client.get("/admin/accounts/user/").status_code == 302  # to the login page
    console_login(client)
    assert client.get("/admin/accounts/user/").status_code == 200
