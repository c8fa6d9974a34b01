"""The Redis deny-list of access tokens: revoked ``jti``\\ s and revoked sessions.

An access token is accepted on its signature and claims alone, without a
database query; what makes logout and theft detection take effect before the
token expires is this deny-list, read on every verification:

* ``token_revoke(jti, expires_at)``: one token (key ``<ns>:auth:deny:jti:<jti>``);
* ``session_revoke(session_id, until)``: every access token of a session (key
  ``<ns>:auth:deny:sid:<sid>``) — the accounts domain calls it on logout and when a
  refresh-token family is revoked; ``until`` is when the session's last access token
  expires (default: now + the access-token lifetime);

* ``roles_changed(user_ids)``: every access token of these users issued before now —
  the accounts domain calls it when a role is revoked, so a token never carries a role
  its user lost. The key ``<ns>:auth:deny:rv:<user_id>`` holds the user's *roles version*
  (a fresh random value at every change); ``access_token_issue`` copies the current
  value (``roles_version(user_id)``, empty when there is none) into the token's ``rv``
  claim, and a token whose ``rv`` differs from the stored value is refused (reason
  ``roles``): the client refreshes and gets a token with the roles the user has now.

each key expiring when the tokens it refuses would have expired anyway (plus the
verification leeway), so the deny-list never outgrows the live tokens.
``revocation_status(jti, session_id, user_id, roles_version)`` answers from the process's
own copy of the deny-list (``coko.platform.auth.revocations``: kept current by Redis pub/sub,
trusted only while confirmed within the last 0.8 s), with no round trip; when that copy is
not trusted it reads the three keys with ONE round trip (``MGET``).

**Redis down → fail closed.** If the deny-list cannot be read (the local copy lost its
subscription, or could not confirm it within 0.8 s, and Redis does not answer), verification raises
``ServiceUnavailable`` (503 ``service_unavailable``, ``details.dependency = "redis"``,
``Retry-After``), it does not accept the token: a logged-out or stolen token must
never come back to life during an outage, and a 503 (unlike a 401) tells clients
to retry later rather than to throw their tokens away and log in again. Revoking
during an outage raises the same 503: a logout is never reported done when it is not.

Keys live under ``settings.REDIS_NAMESPACE`` in the Redis of ``settings.REDIS_URL``,
through a client of this module (1 s timeouts, one retry on a dropped connection, so
a dead Redis costs at most about two seconds — microseconds when nothing listens);
the per-request read uses one connection per thread (``_mget``).
"""

from __future__ import annotations

import math
import os
import secrets
import threading
from collections.abc import Iterable
from datetime import datetime

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from coko.platform.auth import revocations
from coko.platform.auth.errors import ServiceUnavailable
from coko.platform import clock
from coko.platform.observability import get_logger

log = get_logger("coko.auth")

_client: redis.Redis | None = None
_client_lock = threading.Lock()
_local = threading.local()
_generation = 0  # bumped by reset_redis_client: every thread's read connection is replaced
_mirror: revocations.Mirror | None = None  # this process's copy of the deny-list (see ``mirror``)
REDIS_ERRORS = (RedisError,)  # connection lost, timeout, loading, read-only …: all fail closed
RETRY_AFTER_S = 5


def redis_client() -> redis.Redis:
    """The deny-list's Redis client (one pool per process; redis-py resets it after a fork)."""
    global _client
    client = _client
    if client is None:
        with _client_lock:
            if _client is None:
                _client = redis.Redis.from_url(
                    settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1,
                    retry=Retry(NoBackoff(), 1), client_name="coko-auth-denylist")
            client = _client
    return client


def reset_redis_client() -> None:
    """Forget the client and the local copy (after ``REDIS_URL`` changes, in tests)."""
    global _client, _generation, _mirror
    with _client_lock:
        old, _client = _client, None
        old_mirror, _mirror = _mirror, None
        _generation += 1
    if old is not None:
        old.close()
    if old_mirror is not None:
        old_mirror.stop()


def mirror() -> revocations.Mirror:
    """This process's copy of the deny-list, started on first use — after a fork, in the
    child (gunicorn's workers each get their own; one per pid)."""
    global _mirror
    current = _mirror
    if current is None or current.pid != os.getpid():
        with _client_lock:
            if _mirror is None or _mirror.pid != os.getpid():
                _mirror = revocations.Mirror(url=settings.REDIS_URL, namespace=settings.REDIS_NAMESPACE)
            current = _mirror
    return current


def _revoke(kind: str, entries: list[tuple[str, str]], ttl_ms: int, operation: str) -> None:
    """Write ``entries`` (``(id, value)``) of ``kind``: their keys, their index entries and
    their messages to every process's copy, in one ``MULTI``; then this process's copy."""
    namespace = settings.REDIS_NAMESPACE
    expires_ms = int(clock.time() * 1000) + ttl_ms
    index = revocations.index_key(namespace)
    try:
        with redis_client().pipeline(transaction=True) as pipe:
            for ident, value in entries:
                version = value if kind == revocations.ROLES else ""
                pipe.set(f"{namespace}:auth:deny:{kind}:{ident}", value.encode(), px=ttl_ms)
                pipe.zadd(index, {f"{kind} {ident}": expires_ms})
                pipe.publish(revocations.channel(namespace),
                             revocations.encode(kind, ident, expires_ms, version))
            pipe.zremrangebyscore(index, "-inf", int(clock.time() * 1000))
            pipe.execute()
    except REDIS_ERRORS as exc:
        raise _unavailable(exc, operation) from exc
    local = _mirror
    if local is not None and local.pid == os.getpid():
        for ident, value in entries:
            local.apply(kind, ident, expires_ms, value if kind == revocations.ROLES else "")


def _jti_key(jti: str) -> str:
    return f"{settings.REDIS_NAMESPACE}:auth:deny:jti:{jti}"


def _sid_key(session_id: str) -> str:
    return f"{settings.REDIS_NAMESPACE}:auth:deny:sid:{session_id}"


def _roles_key(user_id: str) -> str:
    return f"{settings.REDIS_NAMESPACE}:auth:deny:rv:{user_id}"


def _unavailable(exc: Exception, operation: str) -> ServiceUnavailable:
    log.warning("denylist_unavailable", operation=operation, error=str(exc).strip()[:300])
    return ServiceUnavailable(details={"dependency": "redis"}, retry_after=RETRY_AFTER_S)


def _epoch(moment: datetime | float | int) -> float:
    return moment.timestamp() if isinstance(moment, datetime) else float(moment)


def _ttl_ms(until: datetime | float | int) -> int:
    """Milliseconds from now until ``until`` plus the verification leeway (0: nothing to do)."""
    remaining = _epoch(until) + settings.COKO_JWT["LEEWAY_S"] - clock.time()
    return max(0, math.ceil(remaining * 1000))


def token_revoke(jti: str, expires_at: datetime | float | int) -> None:
    """Refuse the access token ``jti`` until it expires (``expires_at``: aware datetime or
    epoch seconds, e.g. ``principal.expires_at``). A token already expired needs nothing."""
    ttl = _ttl_ms(expires_at)
    if not ttl:
        return
    _revoke(revocations.TOKEN, [(jti, "1")], ttl, "token_revoke")


def sessions_revoke(session_ids: Iterable[str], until: datetime | float | int | None = None) -> None:
    """Refuse every access token of these sessions (one round trip for all of them)."""
    if until is None:
        until = clock.time() + settings.COKO_JWT["ACCESS_TOKEN_TTL_S"]
    ttl = _ttl_ms(until)
    session_ids = [str(sid) for sid in session_ids]
    if not ttl or not session_ids:
        return
    _revoke(revocations.SESSION, [(sid, "1") for sid in session_ids], ttl, "session_revoke")


def session_revoke(session_id: str, until: datetime | float | int | None = None) -> None:
    """Refuse every access token of ``session_id`` issued so far, until ``until`` (when the
    session's last access token expires; default now + ``COKO_ACCESS_TOKEN_TTL_S``).
    A revoked session is dead: do not issue new tokens under its id."""
    sessions_revoke([session_id], until)


def roles_changed(user_ids: Iterable[str]) -> None:
    """Refuse every access token issued so far to these users (their roles changed): each
    gets a new roles version, kept for an access token's lifetime plus the leeway (any token
    issued before the change has expired by then). One round trip for all of them."""
    user_ids = [str(user_id) for user_id in user_ids]
    ttl = _ttl_ms(clock.time() + settings.COKO_JWT["ACCESS_TOKEN_TTL_S"])
    if not user_ids:
        return
    _revoke(revocations.ROLES, [(user_id, secrets.token_hex(8)) for user_id in user_ids], ttl,
            "roles_changed")


def roles_version(user_id: str) -> str:
    """The user's current roles version (``""`` if their roles did not change within an
    access token's lifetime), for the ``rv`` claim of a token issued now."""
    try:
        value = _mget(_roles_key(str(user_id)))[0]
    except REDIS_ERRORS as exc:
        raise _unavailable(exc, "roles_version") from exc
    return value.decode() if value is not None else ""


def _read_connection() -> redis.connection.AbstractConnection:
    """This thread's own connection for the verification read (see ``_mget``)."""
    state = _local.__dict__
    connection = state.get("connection")
    if connection is None or state.get("owner") != (os.getpid(), _generation):
        pool = redis_client().connection_pool
        # one connect attempt per call: _mget retries once itself
        connection = pool.connection_class(**{**pool.connection_kwargs,
                                              "retry": Retry(NoBackoff(), 0)})
        _local.connection, _local.owner = connection, (os.getpid(), _generation)
    return connection


def _mget(*keys: str) -> list[bytes | None]:
    """``MGET`` on this thread's connection, bypassing the client's pool and instrumentation.

    This read runs on every authenticated request: a connection kept per thread (no
    pool checkout) halves the client-side cost of the round trip (about 100 → 45 µs
    on the reference machine). Any error drops the connection — a reply can never be
    read for another command — and the command is tried once more on a fresh
    connection (a Redis restart costs no request); a second failure is the caller's.
    """
    for attempt in (1, 2):
        connection = _read_connection()
        try:
            connection.send_command("MGET", *keys)
            return connection.read_response()
        except REDIS_ERRORS:
            connection.disconnect()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def revocation_status(jti: str, session_id: str, user_id: str | None = None,
                      roles_version: str = "") -> str | None:
    """``"token"``, ``"session"`` or ``"roles"`` (the user's roles changed since the token
    carrying ``roles_version`` was issued) if revoked, else ``None`` — from this process's
    copy when it is trusted, else one ``MGET``. Raises ``ServiceUnavailable`` (503) when
    neither can answer."""
    local = mirror()
    if local.trusted():
        return local.status(jti, session_id, user_id, roles_version)
    keys = [_jti_key(jti), _sid_key(session_id)]
    if user_id is not None:
        keys.append(_roles_key(user_id))
    try:
        token, session, *roles = _mget(*keys)
    except REDIS_ERRORS as exc:
        raise _unavailable(exc, "revocation_status") from exc
    if token is not None:
        return "token"
    if session is not None:
        return "session"
    if roles and roles[0] is not None and roles[0].decode() != roles_version:
        return "roles"
    return None


__all__ = [
    "mirror",
    "redis_client",
    "reset_redis_client",
    "revocation_status",
    "roles_changed",
    "roles_version",
    "session_revoke",
    "sessions_revoke",
    "token_revoke",
]
