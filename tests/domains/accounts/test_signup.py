"""Verify-first sign-up: a code to the address, then the account with that code.

Nothing in either step tells whether the address has an account (OWASP's authentication
cheat sheet): the start answers 202 for every address (the owner of a taken one is told
someone tried, and is sent no code); the confirmation answers ``invalid_code`` for every
code that does not open a new account. The timings are in test_enumeration.py, the
messages as their addressee receives them in tests/domains/notifications/test_signup_messages.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connections

from coko.devtools.testing.api import PASSWORD, Api, client_address, signup_codes_sent
from coko.devtools.testing.events import outbox_events
from coko.domains.accounts import services
from coko.domains.accounts.contracts import (
    SIGNUP_ADDRESS_TAKEN,
    SIGNUP_CODE_REQUESTED,
    USER_REGISTERED,
)

from .conftest import payloads

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
User = apps.get_model("accounts", "User")
SignupCode = apps.get_model("accounts", "SignupCode")
AuditEvent = apps.get_model("accounts", "AuditEvent")


def start(address: dict, *, ip: str | None = None):
    return Api(ip=ip or client_address()).post("/auth/register/start", address)


def confirm(address: dict, code: str, *, ip: str | None = None, **fields):
    body = {**address, "code": code, "password": PASSWORD, "display_name": "Awa", **fields}
    return Api(ip=ip or client_address()).post("/auth/register", body)


@pytest.mark.parametrize("address, verified", [
    ({"email": "Awa@Example.SN"}, "email_verified"),
    ({"phone": "+221 77 123 45 67"}, "phone_verified"),
])
def test_a_sign_up_sends_a_code_to_the_address_and_the_code_opens_a_verified_account(address, verified):
    started = start(address)
    assert started.status_code == 202
    assert started.data == {"status": "code_sent", "expires_in": 900}
    [event] = outbox_events("accounts", SIGNUP_CODE_REQUESTED)
    assert "code" not in event.payload and event.payload["code_encrypted"]  # the code never travels in clear
    assert not {"email", "phone", "address"} & set(event.payload)  # nor the address
    assert User.objects.count() == 0  # nothing yet: the address is not proven

    [code] = signup_codes_sent()
    response = confirm(address, code, preferred_language="wo", country="sn")
    assert response.status_code == 201
    user = response.data["user"]
    assert user[verified] is True and user["roles"] == ["user"]
    assert (user["preferred_language"], user["country"]) == ("wo", "SN")
    assert response.data["tokens"]["access_token"]
    [registered] = payloads(USER_REGISTERED)
    assert registered.user_id == user["id"] and registered.via == "password"
    identifier = address.get("email") or "+221771234567"
    assert Api().post("/auth/login", {"identifier": identifier, "password": PASSWORD}).status_code == 200


def test_the_start_answers_the_same_for_a_taken_and_a_new_address():
    """Attack: POST /auth/register/start to learn which addresses have an account."""
    owner = Api().register(email="awa@example.sn").data["user"]["id"]
    taken = start({"email": "AWA@example.sn"})
    new = start({"email": "ghost@example.sn"})
    assert taken.status_code == new.status_code == 202
    assert taken.content == new.content
    # Behind the answer: the owner is told someone tried (no code); the new address gets one.
    [told] = payloads(SIGNUP_ADDRESS_TAKEN)
    assert (told.user_id, told.channel) == (owner, "email")
    assert len(outbox_events("accounts", SIGNUP_CODE_REQUESTED)) == 2  # awa's own sign-up, ghost's
    assert SignupCode.objects.count() == 3  # the same writes either way
    assert AuditEvent.objects.filter(action="registration.started").count() == 3


def test_the_confirmation_answers_the_same_for_a_taken_and_a_new_address():
    """Attack: POST /auth/register with a guessed code (a 409 told a taken address apart)."""
    Api().register(email="awa@example.sn")
    start({"email": "awa@example.sn"})
    start({"email": "ghost@example.sn"})
    for code in ("000000", "123456"):
        taken = confirm({"email": "awa@example.sn"}, code)
        new = confirm({"email": "ghost@example.sn"}, code)
        assert taken.status_code == new.status_code == 422
        assert taken.data == new.data
        assert taken.data["error"]["code"] == "invalid_code"
    assert User.objects.count() == 1


def test_a_weak_password_is_refused_before_the_code_is_tried_and_the_code_keeps_working():
    start({"email": "awa@example.sn"})
    [code] = signup_codes_sent()
    weak = confirm({"email": "awa@example.sn"}, code, password="awa@example.sn")
    assert weak.status_code == 422 and weak.data["error"]["code"] == "weak_password"
    assert confirm({"email": "awa@example.sn"}, code).status_code == 201


def test_a_code_expires_after_15_minutes(clock):
    start({"email": "awa@example.sn"})
    [code] = signup_codes_sent()
    clock.advance(15 * 60 + 1)
    response = confirm({"email": "awa@example.sn"}, code)
    assert response.status_code == 422 and response.data["error"]["code"] == "invalid_code"
    assert User.objects.count() == 0


def test_a_code_stops_working_after_too_many_wrong_attempts():
    start({"email": "awa@example.sn"})
    [good] = signup_codes_sent()
    wrong = "111111" if good != "111111" else "222222"
    for _ in range(services.CODE_MAX_ATTEMPTS):
        assert confirm({"email": "awa@example.sn"}, wrong).status_code == 422
    response = confirm({"email": "awa@example.sn"}, good)
    assert response.status_code == 422 and response.data["error"]["code"] == "invalid_code"
    assert User.objects.count() == 0


def test_a_code_works_once_and_a_new_one_replaces_the_last():
    start({"email": "awa@example.sn"})
    start({"email": "awa@example.sn"})
    first, second = signup_codes_sent()
    if first != second:
        assert confirm({"email": "awa@example.sn"}, first).data["error"]["code"] == "invalid_code"
    assert confirm({"email": "awa@example.sn"}, second).status_code == 201
    again = confirm({"email": "awa@example.sn"}, second)
    assert again.status_code == 422 and again.data["error"]["code"] == "invalid_code"
    assert User.objects.count() == 1
    assert not SignupCode.objects.filter(consumed_at__isnull=True).exists()


def test_an_address_taken_between_the_code_and_the_confirmation_gets_the_wrong_code_answer():
    """A race (or the admin console) gives the address an account after its code was sent:
    the code's owner gets the same answer as a wrong code, never a 409."""
    start({"email": "awa@example.sn"})
    [code] = signup_codes_sent()
    User.objects.create_user("awa@example.sn", "someone else's passphrase")
    response = confirm({"email": "awa@example.sn"}, code)
    assert response.status_code == 422 and response.data["error"]["code"] == "invalid_code"
    assert User.objects.count() == 1
    assert AuditEvent.objects.filter(action="registration.refused").count() == 1
    assert not SignupCode.objects.filter(consumed_at__isnull=True).exists()  # spent all the same


def test_a_sign_up_names_one_address_and_a_malformed_one_sends_nothing():
    both = start({"email": "awa@example.sn", "phone": "+221771234567"})
    assert both.status_code == 422 and both.data["error"]["code"] == "one_address"
    assert both.data["error"]["details"]["fields"] == ["email", "phone"]
    for address, code in (({"email": "not-an-email"}, "invalid_email"), ({"phone": "771234567"}, "invalid_phone"),
                          ({"email": "x@example.sn", "preferred_language": "xx"}, "invalid_language")):
        response = start(address)
        assert response.status_code == 422 and response.data["error"]["code"] == code
    assert SignupCode.objects.count() == 0 and outbox_events("accounts") == []


def test_starts_are_limited_per_client_address():
    ip = client_address()
    for n in range(10):
        assert start({"email": f"reader{n}@example.sn"}, ip=ip).status_code == 202
    refused = start({"email": "reader10@example.sn"}, ip=ip)
    assert refused.status_code == 429 and refused["Retry-After"]
    assert start({"email": "reader10@example.sn"}).status_code == 202  # another client is not slowed


def test_starts_are_limited_per_address_whatever_its_spelling_and_the_client():
    """Nobody can flood one inbox or phone with codes (or one owner with warnings)."""
    for spelling in ("+221771234567", "+221 77 123 45 67", "+221-77-123-45-67"):
        assert start({"phone": spelling}).status_code == 202
    refused = start({"phone": "+221 771 234 567"})
    assert refused.status_code == 429
    assert len(signup_codes_sent()) == 3


def test_confirmations_are_limited_per_address():
    start({"email": "awa@example.sn"})
    for _ in range(10):
        confirm({"email": "AWA@example.sn"}, "000000")
    assert confirm({"email": "awa@example.sn"}, "000000").status_code == 429


def test_expired_sign_up_codes_are_forgotten_with_their_addresses(clock):
    start({"email": "awa@example.sn"})
    assert services.signup_codes_forget() == 0
    clock.advance(15 * 60 + 1)
    assert services.signup_codes_forget() == 1
    assert SignupCode.objects.count() == 0


def test_a_sign_up_code_is_stored_hashed_with_its_address_encrypted_for_the_lifetime_announced(clock):
    started = start({"email": "awa@example.sn"})
    [code] = signup_codes_sent()
    row = SignupCode.objects.get()
    assert row.expires_at - clock.now() == timedelta(seconds=started.data["expires_in"])
    with connections["accounts"].cursor() as cursor:
        cursor.execute("SELECT address, address_hash, code_hash FROM accounts_signupcode")
        stored = " ".join(cursor.fetchone())
    assert "awa" not in stored and code not in stored
    assert row.address == "awa@example.sn"
