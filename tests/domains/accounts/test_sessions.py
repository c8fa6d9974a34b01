"""Sessions: refresh tokens rotate, a replayed one ends the session, logout ends it too."""

from __future__ import annotations

import jwt
import pytest
from django.apps import apps

from coko.devtools.testing.api import Api

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
AuditEvent = apps.get_model("accounts", "AuditEvent")


def test_the_access_token_carries_the_brief_s_claims(api):
    tokens = api.register().data["tokens"]
    header = jwt.get_unverified_header(tokens["access_token"])
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert header["kid"] and header["alg"] in {"EdDSA", "RS256"}
    assert {"sub", "iat", "exp", "jti", "roles", "permissions"} <= set(claims)
    assert claims["roles"] == ["user"]
    assert claims["permissions"] == ["read_books", "write_reviews"]


def test_a_refresh_token_rotates_on_every_use(api):
    first = api.register().data["tokens"]
    second = api.post("/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    assert second.data["refresh_token"] != first["refresh_token"]
    assert second.data["session_id"] == first["session_id"]
    third = api.post("/auth/refresh", {"refresh_token": second.data["refresh_token"]})
    assert third.status_code == 200


def test_reusing_a_spent_refresh_token_revokes_the_whole_family(api):
    first = api.register().data["tokens"]
    stolen = first["refresh_token"]
    legit = api.post("/auth/refresh", {"refresh_token": stolen}).data  # the owner refreshes

    replay = Api(ip="102.16.0.1").post("/auth/refresh", {"refresh_token": stolen})  # the thief replays
    assert replay.status_code == 401
    assert replay.data["error"]["code"] == "invalid_refresh_token"
    # The whole session is gone: the owner's newer refresh token and access token too.
    assert api.post("/auth/refresh", {"refresh_token": legit["refresh_token"]}).status_code == 401
    assert api.get("/auth/profile", token=legit["access_token"]).status_code == 401
    assert AuditEvent.objects.filter(action="token.reuse").count() == 1


def test_logout_ends_the_session_and_its_access_token(api):
    tokens = api.register().data["tokens"]
    assert api.post("/auth/logout").status_code == 204
    assert api.get("/auth/profile").status_code == 401
    assert api.post("/auth/refresh", {"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_logout_ends_only_this_session(api):
    api.register()
    other = Api()
    other_tokens = other.post("/auth/login", {"identifier": "awa@example.sn",
                                              "password": "a river in Saint-Louis"}).data
    api.post("/auth/logout")
    assert other.get("/auth/profile", token=other_tokens["access_token"]).status_code == 200


def test_an_unknown_refresh_token_is_a_401(api):
    response = api.post("/auth/refresh", {"refresh_token": "made-up"})
    assert response.status_code == 401


def test_repeated_login_failures_lock_the_identifier_out_then_the_lock_expires(api, settings, clock):
    api.register()
    settings.ACCOUNTS_LOGIN_LOCKOUT = {"THRESHOLD": 3, "WINDOW_S": 2}
    attacker = Api(ip="102.16.0.2")
    for _ in range(3):
        assert attacker.post("/auth/login", {"identifier": "awa@example.sn",
                                             "password": "guess"}).status_code == 401
    locked = attacker.post("/auth/login", {"identifier": "awa@example.sn", "password": "a river in Saint-Louis"})
    assert locked.status_code == 429
    assert locked.data["error"]["code"] == "locked_out"
    assert 1 <= int(locked["Retry-After"]) <= 2
    # Unknown identifiers lock the same way: the lockout reveals nothing.
    for _ in range(3):
        attacker.post("/auth/login", {"identifier": "ghost@example.sn", "password": "guess"})
    assert attacker.post("/auth/login", {"identifier": "ghost@example.sn",
                                         "password": "guess"}).status_code == 429
    clock.advance(2.2)
    assert api.post("/auth/login", {"identifier": "awa@example.sn",
                                    "password": "a river in Saint-Louis"}).status_code == 200


def test_login_attempts_per_ip_are_rate_limited(api, settings):
    settings.ACCOUNTS_RATE_LIMITS = {**settings.ACCOUNTS_RATE_LIMITS, "login_ip": (5, 60)}
    attacker = Api(ip="102.16.0.3")
    codes = [attacker.post("/auth/login", {"identifier": f"u{i}@example.sn", "password": "x"}).status_code
             for i in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
