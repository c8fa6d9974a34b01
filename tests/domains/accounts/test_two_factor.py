"""Two-factor authentication (TOTP) with recovery codes: set up, log in, turn off; codes used
once; failures counted toward the lockout; staff can reset it from the console."""

from __future__ import annotations

import pyotp
import pytest
from django.apps import apps
from django.db import connections

from coko.devtools.testing.api import PASSWORD, Api

from .conftest import code_sent

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
AuditEvent = apps.get_model("accounts", "AuditEvent")
TwoFactor = apps.get_model("accounts", "TwoFactor")
User = apps.get_model("accounts", "User")
STEP = 30


class Reader:
    """Awa, signed in, with an authenticator app on her phone (``code()``: its code now)."""

    def __init__(self, api: Api, clock) -> None:
        self.api, self.clock, self.secret, self.recovery_codes = api, clock, None, []

    def code(self) -> str:
        return pyotp.TOTP(self.secret).at(self.clock.time())

    def next_step(self) -> None:
        self.clock.advance(STEP)


def _password_login(ip: str = "41.82.50.1"):
    return Api(ip=ip).post("/auth/login", {"identifier": "awa@example.sn", "password": PASSWORD})


@pytest.fixture
def awa(api, clock) -> Reader:
    api.register(email="awa@example.sn")
    return Reader(api, clock)


@pytest.fixture
def awa_2fa(awa) -> Reader:
    enrol = awa.api.post("/auth/2fa/enrol", {"password": PASSWORD})
    assert enrol.status_code == 201, enrol.data
    awa.secret = enrol.data["secret"]
    confirm = awa.api.post("/auth/2fa/confirm", {"code": awa.code()})
    assert confirm.status_code == 200, confirm.data
    awa.recovery_codes = confirm.data["recovery_codes"]
    awa.next_step()
    return awa


def _second_step(challenge: str, code: str, ip: str = "41.82.50.1"):
    return Api(ip=ip).post("/auth/login/2fa", {"challenge": challenge, "code": code})


def test_enrolment_gives_a_secret_that_is_stored_encrypted_and_not_on_until_confirmed(awa):
    enrol = awa.api.post("/auth/2fa/enrol", {"password": PASSWORD})
    assert enrol.status_code == 201
    secret = enrol.data["secret"]
    assert enrol.data["otpauth_uri"].startswith("otpauth://totp/Coko:awa%40example.sn?secret=" + secret)
    stored = TwoFactor.objects.filter(user_id=awa.api.user_id).values_list("secret", flat=True)
    with connections["accounts"].cursor() as cursor:
        cursor.execute("SELECT secret FROM accounts.accounts_twofactor")
        assert secret not in cursor.fetchone()[0]
    assert list(stored) == [secret]
    assert awa.api.get("/auth/2fa").data == {"enabled": False, "enabled_at": None, "recovery_codes_left": 0}
    assert _password_login().status_code == 200  # not on yet: the password alone still logs in


def test_enrolment_asks_for_the_password(awa):
    """Attack: a stolen access token puts the thief's authenticator on the account."""
    answer = awa.api.post("/auth/2fa/enrol", {"password": "a guess"})
    assert answer.status_code == 401 and answer.data["error"]["code"] == "invalid_credentials"
    assert not TwoFactor.objects.exists()


def test_confirming_needs_a_right_code_and_gives_ten_recovery_codes(awa):
    awa.secret = awa.api.post("/auth/2fa/enrol", {"password": PASSWORD}).data["secret"]
    wrong = awa.api.post("/auth/2fa/confirm", {"code": "000000" if awa.code() != "000000" else "111111"})
    assert wrong.status_code == 422 and wrong.data["error"]["code"] == "invalid_code"
    confirm = awa.api.post("/auth/2fa/confirm", {"code": awa.code()})
    assert confirm.status_code == 200
    assert len(set(confirm.data["recovery_codes"])) == 10
    state = awa.api.get("/auth/2fa").data
    assert state["enabled"] is True and state["recovery_codes_left"] == 10
    assert AuditEvent.objects.filter(action="2fa.enabled", user_id=awa.api.user_id).count() == 1
    again = awa.api.post("/auth/2fa/enrol", {"password": PASSWORD})
    assert again.status_code == 409 and again.data["error"]["code"] == "two_factor_already_on"


def test_confirming_without_enrolling_is_a_conflict(awa):
    answer = awa.api.post("/auth/2fa/confirm", {"code": "123456"})
    assert answer.status_code == 409 and answer.data["error"]["code"] == "two_factor_not_enrolled"


def test_with_two_factor_on_a_password_login_gives_a_challenge_then_tokens_for_the_code(awa_2fa):
    first = _password_login()
    assert first.status_code == 202
    assert set(first.data) == {"status", "challenge", "expires_in"} and first.data["status"] == "two_factor_required"
    second = _second_step(first.data["challenge"], awa_2fa.code())
    assert second.status_code == 200, second.data
    assert second["X-Coko-Device"]
    assert Api().get("/auth/profile", token=second.data["access_token"]).status_code == 200
    assert AuditEvent.objects.filter(action="login.success", details__method="password+totp").exists()
    # refresh keeps working
    assert Api().post("/auth/refresh", {"refresh_token": second.data["refresh_token"]}).status_code == 200
    # the challenge is single use
    awa_2fa.next_step()
    again = _second_step(first.data["challenge"], awa_2fa.code())
    assert again.status_code == 401 and again.data["error"]["code"] == "invalid_login_challenge"


def test_a_code_is_not_accepted_twice(awa_2fa):
    """Attack: a code seen over the owner's shoulder (or a proxy's log) is replayed within its window."""
    code = awa_2fa.code()
    assert _second_step(_password_login().data["challenge"], code).status_code == 200
    replay = _second_step(_password_login().data["challenge"], code)
    assert replay.status_code == 401 and replay.data["error"]["code"] == "invalid_two_factor_code"
    awa_2fa.clock.advance(STEP / 2)  # still the same step's code for the authenticator until it moves
    awa_2fa.next_step()
    assert _second_step(_password_login().data["challenge"], awa_2fa.code()).status_code == 200


def test_a_recovery_code_works_once(awa_2fa):
    code = awa_2fa.recovery_codes[0]
    assert _second_step(_password_login().data["challenge"], code).status_code == 200
    again = _second_step(_password_login().data["challenge"], code)
    assert again.status_code == 401 and again.data["error"]["code"] == "invalid_two_factor_code"
    assert awa_2fa.api.get("/auth/2fa").data["recovery_codes_left"] == 9
    assert AuditEvent.objects.filter(action="2fa.recovery_code_used", user_id=awa_2fa.api.user_id).count() == 1
    # typed without its dash, in capitals: still a recovery code
    other = awa_2fa.recovery_codes[1].replace("-", "").upper()
    assert _second_step(_password_login().data["challenge"], other).status_code == 200


def test_wrong_codes_end_the_challenge_and_count_toward_the_lockout(awa_2fa, settings):
    """Attack: the password leaked; the thief guesses codes, fresh challenge after fresh challenge."""
    settings.ACCOUNTS_LOGIN_LOCKOUT = {"THRESHOLD": 7, "WINDOW_S": 900}
    wrong = "000000" if awa_2fa.code() != "000000" else "111111"
    challenge = _password_login().data["challenge"]
    for _ in range(5):
        assert _second_step(challenge, wrong).data["error"]["code"] == "invalid_two_factor_code"
    assert _second_step(challenge, awa_2fa.code()).data["error"]["code"] == "invalid_login_challenge"
    challenge = _password_login().data["challenge"]  # the right password clears nothing
    assert _second_step(challenge, wrong).status_code == 401
    assert _second_step(challenge, wrong).status_code == 401
    locked = _second_step(challenge, awa_2fa.code())
    assert locked.status_code == 429 and locked.data["error"]["code"] == "locked_out"
    assert _password_login().status_code == 429
    assert AuditEvent.objects.filter(action="login.2fa_failure").count() == 7


def test_turning_two_factor_off_needs_the_password_or_a_code(awa_2fa):
    bare = awa_2fa.api.post("/auth/2fa/disable", {})
    assert bare.status_code == 422 and bare.data["error"]["code"] == "two_factor_proof_required"
    assert awa_2fa.api.post("/auth/2fa/disable", {"password": "a guess"}).status_code == 401
    assert awa_2fa.api.post("/auth/2fa/disable", {"code": awa_2fa.code()}).status_code == 204
    assert awa_2fa.api.get("/auth/2fa").data["enabled"] is False
    assert _password_login().status_code == 200
    assert AuditEvent.objects.filter(action="2fa.disabled", user_id=awa_2fa.api.user_id).count() == 1
    off = awa_2fa.api.post("/auth/2fa/disable", {"password": PASSWORD})
    assert off.status_code == 409 and off.data["error"]["code"] == "two_factor_off"


def test_new_recovery_codes_replace_the_old_ones(awa_2fa):
    fresh = awa_2fa.api.post("/auth/2fa/recovery-codes", {"password": PASSWORD})
    assert fresh.status_code == 200 and len(fresh.data["recovery_codes"]) == 10
    old = _second_step(_password_login().data["challenge"], awa_2fa.recovery_codes[0])
    assert old.status_code == 401
    assert _second_step(_password_login().data["challenge"], fresh.data["recovery_codes"][0]).status_code == 200


def test_a_password_reset_leaves_two_factor_on(awa_2fa):
    """Attack: whoever reads the reader's mail resets the password; the second factor still stands."""
    assert Api().post("/auth/password/reset", {"identifier": "awa@example.sn"}).status_code == 202
    assert Api().post("/auth/password/reset/confirm", {
        "identifier": "awa@example.sn", "code": code_sent("password_reset"),
        "new_password": "a pirogue at Joal-Fadiouth"}).status_code == 204
    login = Api().post("/auth/login", {"identifier": "awa@example.sn", "password": "a pirogue at Joal-Fadiouth"})
    assert login.status_code == 202


def test_the_console_shows_two_factor_and_app_passwords_and_staff_reset_it(awa_2fa, client):
    awa_2fa.api.post("/auth/app-passwords", {"name": "KOReader on my Kobo"})
    staff = User.objects.create_superuser("staff@coko.africa", "a long staff passphrase")
    client.force_login(staff)
    listing = client.get("/admin/accounts/user/")
    assert listing.status_code == 200 and "column-two_factor_enabled" in listing.content.decode()
    page = client.get(f"/admin/accounts/user/{awa_2fa.api.user_id}/change/").content.decode()
    assert "KOReader on my Kobo" in page and "icon-yes" in page
    reset = client.post("/admin/accounts/user/", {"action": "two_factor_reset",
                                                  "_selected_action": [awa_2fa.api.user_id]}, follow=True)
    assert reset.status_code == 200
    assert awa_2fa.api.get("/auth/2fa").data["enabled"] is False
    assert AuditEvent.objects.get(action="2fa.reset_by_staff").details["by_user_id"] == str(staff.id)
    assert _password_login().status_code == 200


def test_the_console_login_asks_staff_with_two_factor_on_for_the_code(client, clock):
    """Attack: a staff password leaked; the console must not be the way around the second factor."""
    User.objects.create_superuser("staff@coko.africa", "a long staff passphrase")
    staff = Api(ip="41.82.60.1")
    staff.token = staff.post("/auth/login", {"identifier": "staff@coko.africa",
                                             "password": "a long staff passphrase"}).data["access_token"]
    secret = staff.post("/auth/2fa/enrol", {"password": "a long staff passphrase"}).data["secret"]
    assert staff.post("/auth/2fa/confirm", {"code": pyotp.TOTP(secret).at(clock.time())}).status_code == 200
    clock.advance(STEP)
    form = client.get("/admin/login/")
    assert 'name="code"' in form.content.decode()
    without = client.post("/admin/login/", {"username": "staff@coko.africa", "password": "a long staff passphrase"})
    assert without.status_code == 200 and "authenticator" in without.content.decode()
    with_code = client.post("/admin/login/", {"username": "staff@coko.africa", "password": "a long staff passphrase",
                                              "code": pyotp.TOTP(secret).at(clock.time())})
    assert with_code.status_code == 302
    assert AuditEvent.objects.filter(action="login.success", details__method="admin").count() == 1
