"""The Redis deny-list: revoked tokens and sessions, one round trip, failing closed."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest
from django.conf import settings

from coko.platform.auth import denylist
from coko.platform.auth.errors import ServiceUnavailable, TokenRevoked
from coko.platform.auth.tokens import access_token_issue, access_token_verify

from .conftest import no_database_queries


def issue(session_id="session-1", **extra):
    return access_token_issue(subject="user-1", roles=["user"], permissions=["read_books"],
                              session_id=session_id, **extra)


def test_a_revoked_token_is_refused_and_the_others_are_not(redis_client):
    token, other = issue(), issue()
    principal = access_token_verify(token)
    denylist.token_revoke(principal.jti, principal.expires_at)

    with pytest.raises(TokenRevoked) as caught:
        access_token_verify(token)
    error = caught.value
    assert (error.status, error.code, error.details) == (401, "token_revoked", {"reason": "token"})
    assert error.headers == {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    assert access_token_verify(other).user_id == "user-1"


def test_the_deny_list_entry_expires_when_the_token_would(redis_client):
    principal = access_token_verify(issue(ttl=120))
    denylist.token_revoke(principal.jti, principal.expires_at)
    key = f"{settings.REDIS_NAMESPACE}:auth:deny:jti:{principal.jti}"
    ttl_ms = redis_client.pttl(key)
    leeway_ms = settings.COKO_JWT["LEEWAY_S"] * 1000
    assert 120_000 - 3000 < ttl_ms - leeway_ms <= 120_000


def test_revoking_a_token_that_already_expired_stores_nothing(redis_client):
    expired = datetime.now(timezone.utc) - timedelta(minutes=5)
    denylist.token_revoke("long-gone", expired)
    assert not redis_client.exists(f"{settings.REDIS_NAMESPACE}:auth:deny:jti:long-gone")


def test_a_revoked_session_refuses_every_token_of_the_session(redis_client):
    first, second = issue("session-9"), issue("session-9")
    elsewhere = issue("session-10")
    denylist.session_revoke("session-9")

    for token in (first, second):
        with pytest.raises(TokenRevoked) as caught:
            access_token_verify(token)
        assert caught.value.details == {"reason": "session"}
    assert access_token_verify(elsewhere).session_id == "session-10"
    key = f"{settings.REDIS_NAMESPACE}:auth:deny:sid:session-9"
    ttl_s = settings.COKO_JWT["ACCESS_TOKEN_TTL_S"] + settings.COKO_JWT["LEEWAY_S"]
    assert ttl_s - 3 < redis_client.pttl(key) / 1000 <= ttl_s


def test_several_sessions_are_revoked_at_once(redis_client):
    tokens = [issue(f"s-{n}") for n in range(3)]
    denylist.sessions_revoke([f"s-{n}" for n in range(3)], until=time.time() + 700)
    for token in tokens:
        with pytest.raises(TokenRevoked):
            access_token_verify(token)


def _until(predicate, *, within: float, what: str):
    """Poll ``predicate`` until it is true (no fixed sleep); fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while not (value := predicate()):
        assert time.monotonic() < deadline, what
        time.sleep(0.005)
    return value


def _mget_commands(monkeypatch) -> list[tuple]:
    connection = denylist._read_connection()
    commands = []
    real = connection.send_command

    def counting(*args, **options):
        commands.append(args)
        return real(*args, **options)

    monkeypatch.setattr(connection, "send_command", counting)
    return commands


def test_a_warm_verification_reads_this_process_copy_of_the_deny_list_with_no_round_trip(
        monkeypatch, redis_client):
    token = issue()
    access_token_verify(token)
    _until(denylist.mirror().trusted, within=5, what="the process's copy never confirmed itself")
    commands = _mget_commands(monkeypatch)
    monkeypatch.setattr(denylist.redis_client(), "execute_command", None)  # not used either
    with no_database_queries():
        principal = access_token_verify(token)
    assert commands == []
    assert principal.user_id == "user-1"


def test_until_the_copy_is_confirmed_verification_reads_the_deny_list_in_one_round_trip(monkeypatch):
    token = issue()
    access_token_verify(token)
    local = denylist.mirror()
    local.stop()  # its subscription gone: it is never confirmed again
    _until(lambda: not local._thread.is_alive(), within=5, what="the copy did not stop")
    commands = _mget_commands(monkeypatch)
    with no_database_queries():
        principal = access_token_verify(token)
    ns = settings.REDIS_NAMESPACE
    assert commands == [("MGET", f"{ns}:auth:deny:jti:{principal.jti}",
                         f"{ns}:auth:deny:sid:session-1", f"{ns}:auth:deny:rv:user-1")]


def test_a_role_change_refuses_the_tokens_issued_before_it_and_not_after(redis_client):
    """Attack: a reader whose premium (or author, or admin) role staff revoked keeps using
    it for the rest of their access token's life. Their tokens issued before the change are
    refused at once (in the same MGET); the next one, issued after, carries the new version."""
    before = access_token_issue(
        subject="user-r", roles=["premium"], permissions=["read_books"], session_id="session-r")
    other_user = issue("session-o")
    assert access_token_verify(before).roles == {"premium"}

    denylist.roles_changed(["user-r"])

    with pytest.raises(TokenRevoked) as caught:
        access_token_verify(before)
    assert caught.value.details == {"reason": "roles"}
    assert access_token_verify(other_user).user_id == "user-1"  # another user's tokens stand
    after = access_token_issue(subject="user-r", roles=[], permissions=[], session_id="session-r")
    assert access_token_verify(after).roles == frozenset()
    key = f"{settings.REDIS_NAMESPACE}:auth:deny:rv:user-r"
    ttl_s = settings.COKO_JWT["ACCESS_TOKEN_TTL_S"] + settings.COKO_JWT["LEEWAY_S"]
    assert ttl_s - 3 < redis_client.pttl(key) / 1000 <= ttl_s  # kept no longer than a token lives

    denylist.roles_changed(["user-r"])  # a second change refuses the token issued after the first
    with pytest.raises(TokenRevoked):
        access_token_verify(after)


def test_a_token_forged_without_the_roles_version_is_still_refused(redis_client):
    """A token with no ``rv`` (issued while Redis was down, or before any change) is refused
    once the user's roles changed: the version is compared, not merely looked for."""
    token = access_token_issue(subject="user-s", roles=["admin"], permissions=["*"],
                               session_id="s", roles_version="")
    denylist.roles_changed(["user-s"])
    with pytest.raises(TokenRevoked):
        access_token_verify(token)


def test_a_dropped_redis_connection_costs_no_request(redis_client):
    token = issue()
    access_token_verify(token)
    connection = denylist._read_connection()
    connection.send_command("CLIENT", "ID")
    redis_client.execute_command("CLIENT", "KILL", "ID", connection.read_response())
    assert access_token_verify(token).user_id == "user-1"  # reconnected, once


def test_with_redis_down_verification_fails_closed_with_a_503(dead_redis):
    token = issue()
    with pytest.raises(ServiceUnavailable) as caught:
        access_token_verify(token)
    error = caught.value
    assert (error.status, error.code) == (503, "service_unavailable")
    assert error.details == {"dependency": "redis"}
    assert error.headers == {"Retry-After": "5"}


def test_with_redis_down_revoking_is_not_reported_as_done(dead_redis):
    with pytest.raises(ServiceUnavailable):
        denylist.session_revoke("session-1")
    with pytest.raises(ServiceUnavailable):
        denylist.token_revoke("jti", time.time() + 60)
