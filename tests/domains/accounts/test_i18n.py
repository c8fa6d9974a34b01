"""The accounts domain owns its French catalogue (coko/domains/accounts/locale), and its errors
reach the client in the request's language. The checks are the platform's (every catalogue,
platform and domains alike, is covered by tests/platform/http/test_i18n.py); here they are
pinned to accounts, with one request end to end."""

from __future__ import annotations

import pytest

from tests.platform.http.test_i18n import (
    COKO,
    catalogue_packages,
    compiled_and_source,
    not_served,
    package_strings,
    untranslated,
    unused,
)

from coko.devtools.testing.api import Api

ACCOUNTS = COKO / "domains" / "accounts"


def test_the_accounts_catalogue_is_one_django_finds():
    assert ACCOUNTS in catalogue_packages()
    assert not_served(ACCOUNTS) == {}  # found, and not shadowed by another catalogue


def test_every_accounts_message_has_a_french_translation():
    """Add the missing msgids to coko/domains/accounts/locale/fr/LC_MESSAGES/django.po."""
    assert "These credentials are not valid." in package_strings(ACCOUNTS)  # the scan sees them
    assert untranslated(ACCOUNTS) == {}
    assert unused(ACCOUNTS) == []


def test_the_compiled_accounts_catalogue_is_not_stale():
    """Recompile (``msgfmt -o django.mo django.po`` in LC_MESSAGES) when this fails."""
    compiled, source = compiled_and_source(ACCOUNTS)
    assert compiled == source


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize(("language", "expected"), [
    ("fr", "Ces identifiants ne sont pas valides."),
    ("fr-SN,fr;q=0.9,en;q=0.5", "Ces identifiants ne sont pas valides."),
    ("en", "These credentials are not valid."),
])
def test_a_failed_login_is_refused_in_the_client_s_language(language, expected):
    response = Api().post("/auth/login", {"identifier": "nobody@example.sn", "password": "x"},
                          HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 401
    assert response.data["error"]["code"] == "invalid_credentials"  # codes never change
    assert response.data["error"]["message"] == expected
    assert response["Content-Language"] == language[:2]
