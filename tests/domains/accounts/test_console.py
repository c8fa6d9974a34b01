"""What staff see of people in the admin console: who a user is (by name, email and phone),
found by their number however it is typed, and what the audit log says about logins."""

from __future__ import annotations

import pytest
from django.apps import apps

from coko.devtools.testing.api import PASSWORD, Api
from coko.devtools.testing.console import columns
from coko.domains.accounts.testing import phone_add_for_test

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
User = apps.get_model("accounts", "User")
AuditEvent = apps.get_model("accounts", "AuditEvent")


@pytest.fixture
def console(client):
    staff = User.objects.create_superuser("staff@coko.africa", "a long staff passphrase")
    client.force_login(staff)
    client.staff = staff
    return client


@pytest.fixture
def awa(api):
    api.register(email="awa@example.sn", display_name="Awa Ndiaye")
    phone_add_for_test(user_id=api.user_id, phone="+221 77 123 45 67")
    return User.objects.get(email="awa@example.sn")


def rows(response) -> str:
    assert response.status_code == 200
    return response.content.decode()


def test_the_user_list_shows_email_and_a_masked_phone(console, awa):
    listing = console.get("/admin/accounts/user/")
    assert columns(listing)[:2] == ["email", "phone_column"]
    page = rows(listing)
    assert "awa@example.sn" in page
    assert "+22177•••••67" in page  # masked in lists
    assert "+221771234567" not in page and "+221 77 123 45 67" not in page
    assert not AuditEvent.objects.filter(action="phone.revealed").exists()


@pytest.mark.parametrize("typed", ["+221 77 123 45 67", "+221771234567", "00221 77 123 45 67",
                                   "221-77-123-45-67", "(+221) 77.123.45.67"])
def test_staff_find_a_user_by_their_number_however_it_is_typed(console, awa, api, typed):
    Api().register(email="moussa@example.sn", phone="+221 78 765 43 21")
    page = rows(console.get("/admin/accounts/user/", {"q": typed}))
    assert "awa@example.sn" in page and "moussa@example.sn" not in page


def test_a_number_that_is_nobody_s_finds_nobody_and_text_search_still_works(console, awa):
    assert "awa@example.sn" not in rows(console.get("/admin/accounts/user/", {"q": "+221 76 000 00 00"}))
    assert "awa@example.sn" in rows(console.get("/admin/accounts/user/", {"q": "Ndiaye"}))


def test_the_user_page_is_titled_with_the_person_and_shows_the_number_audited(console, awa):
    page = rows(console.get(f"/admin/accounts/user/{awa.id}/change/"))
    assert "<h1>Awa Ndiaye &lt;awa@example.sn&gt;</h1>" in page
    assert f"<h1>{awa.id}" not in page
    assert "+221 77 123 45 67" in page  # decrypted for staff
    revealed = AuditEvent.objects.get(action="phone.revealed")
    assert revealed.user_id == awa.id
    assert revealed.details == {"by_user_id": str(console.staff.id), "via": "admin"}


def test_a_user_without_a_phone_is_not_audited_as_revealed(console):
    reader = User.objects.create_user("reader@example.sn", PASSWORD)
    page = rows(console.get(f"/admin/accounts/user/{reader.id}/change/"))
    assert "<h1>reader@example.sn</h1>" in page
    assert not AuditEvent.objects.filter(action="phone.revealed").exists()


def test_the_audit_log_names_the_account_of_a_failed_login(console, awa):
    Api().post("/auth/login", {"identifier": "awa@example.sn", "password": "not it"})
    assert AuditEvent.objects.filter(action="login.failure", user_id=awa.id).exists()
    log = console.get("/admin/accounts/auditevent/", {"action__exact": "login.failure"})
    assert "account" in columns(log)
    page = rows(log)
    assert "<td class=\"field-account\">awa@example.sn</td>" in page
    Api().post("/auth/login", {"identifier": "moussa@example.sn", "password": "not it"})  # nobody's
    found = rows(console.get("/admin/accounts/auditevent/", {"q": "awa@example"}))
    lines = AuditEvent.objects.filter(user_id=awa.id).count()  # registration, the failure …
    assert found.count('<td class="field-account">awa@example.sn</td>') == lines >= 2
    assert found.count('<td class="field-account">') == lines  # not the unknown account's failure


def test_a_login_refused_by_a_lockout_is_audited_and_answers_as_for_an_unknown_account(awa, settings):
    settings.ACCOUNTS_LOGIN_LOCKOUT = {"THRESHOLD": 2, "WINDOW_S": 900}
    answers = {}
    for identifier in ("awa@example.sn", "nobody@example.sn"):
        for _ in range(2):
            Api(ip="102.16.0.9").post("/auth/login", {"identifier": identifier, "password": "guess"})
        locked = Api().post("/auth/login", {"identifier": identifier, "password": PASSWORD})
        assert locked.status_code == 429
        answers[identifier] = locked.data["error"]
    assert answers["awa@example.sn"] == answers["nobody@example.sn"]  # the client learns nothing
    locked_out = AuditEvent.objects.filter(action="login.locked_out").order_by("id")
    assert [event.user_id for event in locked_out] == [awa.id, None]
    assert all(event.details["identifier_key"] for event in locked_out)
