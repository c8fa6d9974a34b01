"""Client identity behind the gateway (issue 10): whose budget a login attempt spends.

* the address: ``X-Forwarded-For`` is believed only from a trusted proxy
  (``COKO_TRUSTED_PROXIES``), right-most untrusted entry; otherwise the peer's address;
* the account: the lockout keys on the normalised account, not the spelling typed;
* the device: a device that logged in before keeps its own budget when the account is locked;
* the admin console: its login goes through the same limits, lockout and audit.
"""

from __future__ import annotations

import pytest
from django.test import Client

from coko.devtools.testing.api import PASSWORD, Api, client_address
from coko.domains.accounts.models import AuditEvent, User

INGRESS = "10.244.3.7"  # a pod of the ingress controller
TRUSTED = ["10.244.0.0/16"]

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.fixture
def behind_ingress(settings):
    settings.COKO_TRUSTED_PROXIES = TRUSTED
    settings.ACCOUNTS_RATE_LIMITS = {**settings.ACCOUNTS_RATE_LIMITS, "login_ip": (3, 60)}


def _login(api: Api, identifier: str, password: str = "wrong guess", **extra):
    return api.post("/auth/login", {"identifier": identifier, "password": password}, **extra)


# --- the address ----------------------------------------------------------------------------------------
def test_a_spoofed_forwarded_for_from_an_untrusted_peer_does_not_change_the_key(behind_ingress):
    """Attack: a client talking to the web process directly sends a fresh X-Forwarded-For with
    every attempt to get a fresh per-address budget each time (unlimited password guessing)."""
    attacker = Api(ip="102.16.9.9")  # not in COKO_TRUSTED_PROXIES
    codes = [_login(attacker, f"u{i}@example.sn", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
             for i in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    last = AuditEvent.objects.filter(action="login.failure").order_by("-at").first()
    assert last.ip == "102.16.9.9"


def test_behind_the_trusted_proxy_two_clients_get_separate_budgets(behind_ingress):
    """Attack (the shipped default before): every request through the ingress has the ingress
    pod's address, so one client spending login 30/min locks every reader out of logging in."""
    ingress = Api(ip=INGRESS)
    first = [_login(ingress, f"a{i}@example.sn", HTTP_X_FORWARDED_FOR="41.82.50.1").status_code for i in range(4)]
    assert first == [401, 401, 401, 429]
    # another reader, through the same ingress pod, still has the whole of its own budget
    second = [_login(ingress, f"b{i}@example.sn", HTTP_X_FORWARDED_FOR="41.82.50.2").status_code for i in range(3)]
    assert second == [401, 401, 401]
    assert set(AuditEvent.objects.filter(action="login.failure").values_list("ip", flat=True)) == {
        "41.82.50.1", "41.82.50.2"}


def test_behind_the_trusted_proxy_what_the_client_wrote_to_the_left_is_ignored(behind_ingress):
    """Attack: a client sends its own X-Forwarded-For through the ingress, which appends the real
    address: the client's part (left) changes nothing, the entry the ingress added decides."""
    ingress = Api(ip=INGRESS)
    codes = [_login(ingress, f"c{i}@example.sn",
                    HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 10.244.9.9, 41.82.50.3, 10.244.1.1").status_code
             for i in range(4)]
    assert codes == [401, 401, 401, 429]
    assert AuditEvent.objects.filter(action="login.failure").first().ip == "41.82.50.3"


# --- the account ------------------------------------------------------------------------------------------
PHONE_SPELLINGS = [
    "+221771234567", "+221 77 123 45 67", "+221-77-123-45-67", "+221.77.123.45.67",
    "+221 (77) 123 4567", "  +221 771 234 567 ", "tel:+221-77-123-45-67", "+２２１７７１２３４５６７",
]


def test_eight_spellings_of_one_phone_number_share_one_lockout_budget(settings):
    """Attack: the lockout keyed on the identifier as typed, so each notation of the victim's
    number gave a fresh budget of guesses (eight spellings, eight times the guesses)."""
    owner = Api(ip=client_address())
    assert owner.register(phone="+221771234567").status_code == 201
    settings.ACCOUNTS_LOGIN_LOCKOUT = {"THRESHOLD": 8, "WINDOW_S": 900}
    for spelling in PHONE_SPELLINGS:  # every spelling opens the account …
        assert _login(Api(ip=client_address()), spelling, PASSWORD).status_code == 200, spelling
    codes = [_login(Api(ip=client_address()), spelling).status_code for spelling in PHONE_SPELLINGS]
    assert codes == [401] * 8
    # … and all eight spent the one budget: no spelling has a guess left
    for spelling in PHONE_SPELLINGS:
        assert _login(Api(ip=client_address()), spelling, PASSWORD).status_code == 429, spelling


def test_email_case_does_not_give_a_new_budget(settings):
    Api(ip=client_address()).register(email="awa@example.sn")
    settings.ACCOUNTS_LOGIN_LOCKOUT = {"THRESHOLD": 3, "WINDOW_S": 900}
    for spelling in ("AWA@example.sn", "awa@EXAMPLE.SN", " Awa@Example.Sn "):
        assert _login(Api(ip=client_address()), spelling).status_code == 401
    assert _login(Api(ip=client_address()), "awa@example.sn", PASSWORD).status_code == 429


# --- the device -------------------------------------------------------------------------------------------
def test_failures_from_many_addresses_do_not_lock_the_owner_out_of_a_known_device(settings):
    """Attack (lockout abuse): failing a reader's login from many addresses locks the account,
    so the reader cannot log in. A device that logged in before is not held by that lock."""
    owner = Api(ip=client_address())
    owner.register(email="awa@example.sn")
    first = _login(owner, "awa@example.sn", PASSWORD)  # this device logs in: it is now known
    assert first.status_code == 200 and first["X-Coko-Device"]
    assert owner.client.cookies["coko_device"].value == first["X-Coko-Device"]
    settings.ACCOUNTS_LOGIN_LOCKOUT = {"THRESHOLD": 3, "WINDOW_S": 900}
    for _ in range(6):
        _login(Api(ip=client_address()), "awa@example.sn")
    assert _login(Api(ip=client_address()), "awa@example.sn", PASSWORD).status_code == 429  # unknown device
    assert _login(owner, "awa@example.sn", PASSWORD).status_code == 200  # the cookie
    app = Api(ip=client_address())  # an app sends the header back
    assert _login(app, "awa@example.sn", PASSWORD, HTTP_X_COKO_DEVICE=first["X-Coko-Device"]).status_code == 200


def test_a_known_device_has_its_own_stricter_budget(settings):
    owner = Api(ip=client_address())
    owner.register(email="awa@example.sn")
    device = _login(owner, "awa@example.sn", PASSWORD)["X-Coko-Device"]
    settings.ACCOUNTS_DEVICE_LOCKOUT = {"THRESHOLD": 2, "WINDOW_S": 900}
    thief = Api(ip=client_address())  # a stolen device token gives no more than its budget
    codes = [_login(thief, "awa@example.sn", HTTP_X_COKO_DEVICE=device).status_code for _ in range(3)]
    assert codes == [401, 401, 429]
    assert _login(Api(ip=client_address()), "awa@example.sn", PASSWORD).status_code == 200  # others unaffected


def test_a_device_token_works_only_for_its_account_and_only_signed(settings):
    owner = Api(ip=client_address())
    owner.register(email="awa@example.sn")
    device = _login(owner, "awa@example.sn", PASSWORD)["X-Coko-Device"]
    Api(ip=client_address()).register(email="binta@example.sn")
    settings.ACCOUNTS_LOGIN_LOCKOUT = {"THRESHOLD": 2, "WINDOW_S": 900}
    for _ in range(2):
        _login(Api(ip=client_address()), "binta@example.sn")
    for token in (device, device[:-2] + "xx", "made-up"):
        assert _login(Api(ip=client_address()), "binta@example.sn", PASSWORD,
                      HTTP_X_COKO_DEVICE=token).status_code == 429, token


# --- the admin console --------------------------------------------------------------------------------------
def test_the_admin_login_has_the_api_login_s_lockout_and_audit(settings):
    """Attack: the console's login accepted 40 wrong passwords in a row (unlimited guessing of
    staff passwords) and audited nothing."""
    User.objects.create_superuser("chief@coko.africa", "a long staff passphrase")
    settings.ACCOUNTS_LOGIN_LOCKOUT = {"THRESHOLD": 10, "WINDOW_S": 900}
    console = Client(REMOTE_ADDR=client_address())
    answers = [console.post("/admin/login/", {"username": "chief@coko.africa", "password": f"guess {i}"})
               for i in range(40)]
    assert all(a.status_code == 200 for a in answers)  # the form again, never logged in
    assert b"Too many" not in answers[9].content and b"Too many" in answers[10].content
    assert AuditEvent.objects.filter(action="login.failure").count() == 10
    # the right password is refused too while locked
    locked = Client(REMOTE_ADDR=client_address()).post(
        "/admin/login/", {"username": "CHIEF@coko.africa", "password": "a long staff passphrase"})
    assert locked.status_code == 200 and b"Too many" in locked.content


def test_the_admin_login_succeeds_and_is_audited():
    chief = User.objects.create_superuser("chief@coko.africa", "a long staff passphrase")
    console = Client(REMOTE_ADDR="41.82.60.1")
    response = console.post("/admin/login/", {"username": "chief@coko.africa",
                                              "password": "a long staff passphrase"})
    assert response.status_code == 302
    assert console.get("/admin/").status_code == 200
    success = AuditEvent.objects.get(action="login.success", user_id=chief.id)
    assert success.details["method"] == "admin" and success.ip == "41.82.60.1"


def test_the_admin_login_limits_per_address_too(settings):
    settings.ACCOUNTS_RATE_LIMITS = {**settings.ACCOUNTS_RATE_LIMITS, "login_ip": (3, 60)}
    console = Client(REMOTE_ADDR=client_address())
    answers = [console.post("/admin/login/", {"username": f"s{i}@coko.africa", "password": "x"}) for i in range(4)]
    assert [b"Too many" in a.content for a in answers] == [False, False, False, True]


def test_a_reader_cannot_open_the_console():
    Api(ip=client_address()).register(email="awa@example.sn")
    response = Client(REMOTE_ADDR=client_address()).post(
        "/admin/login/", {"username": "awa@example.sn", "password": PASSWORD})
    assert response.status_code == 200 and not AuditEvent.objects.filter(action="login.success",
                                                                         details__method="admin").exists()
