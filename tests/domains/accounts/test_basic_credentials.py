"""HTTP Basic (OPDS readers' apps): a password change or reset is seen on the very next request."""

from __future__ import annotations

import base64

import pytest
from django.test import Client

from coko.devtools.testing.api import PASSWORD, Api

from .conftest import code_sent

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
NEW_PASSWORD = "a pirogue at Joal-Fadiouth"


def basic(identifier: str, password: str) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{identifier}:{password}".encode()).decode()}


def _opds(identifier: str, password: str) -> int:
    return Client(REMOTE_ADDR="41.82.214.9").get("/opds/", **basic(identifier, password)).status_code


def test_a_password_change_refuses_the_old_password_over_basic_at_once():
    """Attack: a reader changes a leaked password, but an e-reader app holding the old one
    keeps opening the account over HTTP Basic for the cache's five minutes."""
    reader = Api()
    reader.register(email="ndeye@example.sn")
    assert _opds("ndeye@example.sn", PASSWORD) == 200
    assert _opds("ndeye@example.sn", PASSWORD) == 200  # remembered: no second Argon2 check
    assert reader.post("/auth/password/change", {"current_password": PASSWORD,
                                                 "new_password": NEW_PASSWORD}).status_code == 204
    assert _opds("ndeye@example.sn", PASSWORD) == 401
    assert _opds("ndeye@example.sn", NEW_PASSWORD) == 200


def test_a_password_reset_refuses_the_old_password_over_basic_at_once():
    reader = Api()
    reader.register(email="khady@example.sn")
    assert _opds("khady@example.sn", PASSWORD) == 200
    assert Api().post("/auth/password/reset", {"identifier": "khady@example.sn"}).status_code == 202
    assert Api().post("/auth/password/reset/confirm", {
        "identifier": "khady@example.sn", "code": code_sent("password_reset"),
        "new_password": NEW_PASSWORD}).status_code == 204
    assert _opds("khady@example.sn", PASSWORD) == 401
    assert _opds("khady@example.sn", NEW_PASSWORD) == 200


def test_a_closed_account_is_refused_over_basic_at_once():
    reader = Api()
    reader.register(email="aissatou@example.sn")
    assert _opds("aissatou@example.sn", PASSWORD) == 200
    assert reader.post("/auth/delete", {"password": PASSWORD}).status_code == 202
    assert _opds("aissatou@example.sn", PASSWORD) == 401
