"""Registration, login, profile: an email address or a mobile number is enough."""

from __future__ import annotations

import time

import pytest
from django.apps import apps
from django.db import connections

from coko.devtools.testing.api import PASSWORD, Api
from coko.devtools.testing.events import last_event, outbox_events
from coko.domains.accounts import api as accounts_api
from coko.domains.accounts.contracts import USER_LOGIN, USER_PROFILE_UPDATED, USER_REGISTERED

from .conftest import payloads

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
User = apps.get_model("accounts", "User")


def test_register_with_an_email_creates_a_reader_and_opens_a_session(api):
    response = api.register(email="Awa@Example.SN", preferred_language="wo", country="sn")
    assert response.status_code == 201
    user = response.data["user"]
    assert user["email"] == "awa@example.sn"
    assert (user["preferred_language"], user["country"]) == ("wo", "SN")
    assert user["roles"] == ["user"]
    assert user["permissions"] == ["read_books", "write_reviews"]
    tokens = response.data["tokens"]
    assert tokens["token_type"] == "Bearer" and tokens["refresh_token"] and tokens["expires_in"] > 0
    [registered] = payloads(USER_REGISTERED)
    assert registered.user_id == user["id"] and registered.via == "password"
    assert (registered.has_email, registered.has_phone) == (True, False)
    assert "email" not in last_event("accounts", USER_REGISTERED).payload  # no personal data in clear
    assert len(outbox_events("accounts", USER_LOGIN)) == 1


def test_register_with_only_a_phone_number_in_any_usual_notation(api):
    response = api.register(phone="+221 77 123 45 67")
    assert response.status_code == 201
    assert response.data["user"]["phone"] == "+221771234567"
    assert response.data["user"]["email"] is None
    login = Api().post("/auth/login", {"identifier": "+221771234567", "password": PASSWORD})
    assert login.status_code == 200


def test_the_phone_number_is_encrypted_at_rest_and_found_by_its_keyed_hash(api):
    api.register(phone="+221771234567")
    with connections["accounts"].cursor() as cursor:
        cursor.execute("SELECT phone, phone_hash FROM accounts_user")
        stored, digest = cursor.fetchone()
    assert "771234567" not in stored and len(digest) == 64
    assert User.objects.get(phone_hash=digest).phone == "+221771234567"


@pytest.mark.parametrize("first, second", [
    ({"email": "awa@example.sn"}, {"email": "AWA@example.sn"}),
    ({"phone": "+221771234567"}, {"phone": "+221 77 123 45 67"}),
])
def test_a_taken_email_or_phone_cannot_sign_up_again_and_is_not_told_apart(api, first, second):
    """Attack: registering an address to learn whether it has an account (a 409 said so).
    Its sign-up starts like any other and ends in the wrong-code answer (tests/domains/accounts/test_signup.py)."""
    assert api.register(**first).status_code == 201
    response = Api().register(**second)
    assert response.status_code == 422
    assert response.data["error"]["code"] == "invalid_code"
    assert User.objects.count() == 1


@pytest.mark.parametrize("fields, code", [
    ({"email": "not-an-email"}, "invalid_email"),
    ({"phone": "771234567"}, "invalid_phone"),  # no country code
    ({"phone": "+221 12"}, "invalid_phone"),
    ({"email": "x@example.sn", "preferred_language": "xx"}, "invalid_language"),
    ({"email": "x@example.sn", "password": "password123"}, "weak_password"),
    ({"email": "x@example.sn", "password": "short"}, "weak_password"),
])
def test_malformed_input_is_a_422_and_creates_nothing(api, fields, code):
    response = api.register(**fields)
    assert response.status_code == 422
    assert response.data["error"]["code"] == code
    assert User.objects.count() == 0


def test_a_weak_password_says_why_in_the_client_s_language(api):
    response = api.post("/auth/register", {"email": "x@example.sn", "code": "000000", "password": "123456"},
                        HTTP_ACCEPT_LANGUAGE="fr")
    reasons = " ".join(response.data["error"]["details"]["reasons"])
    assert "trop court" in reasons or "trop courant" in reasons


def test_register_needs_an_email_or_a_phone(api):
    for path, body in (("/auth/register/start", {}), ("/auth/register", {"code": "000000", "password": PASSWORD})):
        response = api.post(path, body)
        assert response.status_code == 422
        assert response.data["error"]["code"] == "login_required"


def test_schema_violations_are_422_envelopes(api):
    response = api.post("/auth/register", {"email": 42})
    assert response.status_code == 422
    assert response.data["error"]["code"] == "validation_error"


def test_passwords_are_hashed_with_argon2(api):
    api.register()
    assert User.objects.get().password.startswith("argon2")


def test_login_by_email_returns_tokens_and_publishes_user_login(api):
    api.register()
    response = Api().post("/auth/login", {"identifier": "AWA@example.sn", "password": PASSWORD})
    assert response.status_code == 200
    assert response.data["access_token"] and response.data["refresh_token"]
    assert len(outbox_events("accounts", USER_LOGIN)) == 2


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer_in_about_the_same_time(api):
    api.register()
    other = Api(ip="41.82.1.10")
    timings = {}
    answers = {}
    for name, identifier in [("known", "awa@example.sn"), ("unknown", "nobody@example.sn")]:
        started = time.perf_counter()
        for _ in range(3):
            response = other.post("/auth/login", {"identifier": identifier, "password": "wrong password!"})
        timings[name] = (time.perf_counter() - started) / 3
        answers[name] = (response.status_code, response.data)
    assert answers["known"][0] == answers["unknown"][0] == 401
    assert answers["known"][1]["error"] == answers["unknown"][1]["error"]
    assert answers["known"][1]["error"]["code"] == "invalid_credentials"
    ratio = timings["known"] / timings["unknown"]
    assert 0.5 < ratio < 2, timings


def test_profile_read_and_update(api):
    api.register()
    assert api.get("/auth/profile").data["display_name"] == "Awa"
    response = api.put("/auth/profile", {"display_name": "Awa Diop", "preferred_language": "en",
                                         "marketing_consent": True})
    assert response.status_code == 200
    assert (response.data["display_name"], response.data["preferred_language"]) == ("Awa Diop", "en")
    [updated] = payloads(USER_PROFILE_UPDATED)
    assert sorted(updated.changed) == ["display_name", "marketing_consent", "preferred_language"]
    assert api.put("/auth/profile", {"preferred_language": "klingon"}).status_code == 422


def test_a_profile_change_sets_only_what_it_sends(api):
    api.register(country="sn")
    response = api.put("/auth/profile", {"country": "ml", "is_staff": True,
                                         "email": "someone@else.sn"})  # keys a profile has not are ignored
    assert response.status_code == 200, response.data
    assert response.data["country"] == "ML"
    assert response.data["display_name"] == "Awa" and response.data["email"] != "someone@else.sn"
    assert "admin" not in response.data["roles"]
    [updated] = payloads(USER_PROFILE_UPDATED)
    assert updated.changed == ("country",)
    assert api.put("/auth/profile", {"country": "ML", "display_name": "Awa"}).status_code == 200
    assert len(payloads(USER_PROFILE_UPDATED)) == 1  # nothing changed, nothing announced


def test_the_profile_keeps_or_clears_the_avatar_but_never_names_a_new_one(api):
    # accounts cannot tell whose file an id names: a new avatar is chosen through the files
    # domain (tests/domains/files/test_avatar.py), which checks it and calls accounts_api.avatar_set
    api.register(country="sn")
    avatar = "0b7c6d2e-5f3a-4c1b-9e8d-7a6b5c4d3e2f"
    refused = api.put("/auth/profile", {"country": "ml", "avatar_file_id": avatar})
    assert refused.status_code == 422
    assert refused.data["error"]["code"] == "avatar_invalid"
    assert refused.data["error"]["details"] == {"field": "avatar_file_id"}
    assert api.get("/auth/profile").data["country"] == "SN" and payloads(USER_PROFILE_UPDATED) == []
    accounts_api.avatar_set(user_id=api.user_id, file_id=avatar)
    assert payloads(USER_PROFILE_UPDATED)[-1].changed == ("avatar_file_id",)
    kept = api.put("/auth/profile", {"country": "ml", "avatar_file_id": avatar})  # the profile sent back
    assert kept.status_code == 200 and (kept.data["country"], kept.data["avatar_file_id"]) == ("ML", avatar)
    cleared = api.put("/auth/profile", {"avatar_file_id": None})
    assert cleared.status_code == 200 and cleared.data["avatar_file_id"] is None
    assert payloads(USER_PROFILE_UPDATED)[-1].changed == ("avatar_file_id",)


def test_profile_needs_a_token(api):
    response = api.get("/auth/profile")
    assert response.status_code == 401
    assert response.data["error"]["code"] in {"unauthorized", "invalid_token", "missing_token"}


@pytest.mark.parametrize("field", ["display_name", "country", "marketing_consent"])
def test_a_profile_field_that_cannot_be_empty_refuses_null_and_changes_nothing(api, field):
    api.register(display_name="Awa", country="SN")
    before = api.get("/auth/profile").data
    refused = api.put("/auth/profile", {field: None})
    assert refused.status_code == 422 and refused.data["error"]["code"] == "validation_error"
    assert refused.data["error"]["details"][0]["loc"][-1] == field
    assert api.get("/auth/profile").data == before
