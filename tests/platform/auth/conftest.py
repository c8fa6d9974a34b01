"""Fixtures of the token specification.

Every test here runs with keys of its own (``key_a`` active, generated in memory),
never the development key of ``var/keys``; tests that need a database say so —
the others would fail on any query (pytest-django blocks database access), which
is how "verification does no database query" is enforced throughout.
"""

from __future__ import annotations

import base64
import json
import time
from contextlib import ExitStack, contextmanager

import jwt
import pytest
from django.db import connections

from coko.platform.auth.keys import generate_key


@pytest.fixture(scope="session")
def key_a():
    return generate_key("key-a")


@pytest.fixture(scope="session")
def key_b():
    return generate_key("key-b")


@pytest.fixture(scope="session")
def rsa_key():
    return generate_key("key-rsa", alg="RS256")


@pytest.fixture(autouse=True)
def token_keys(settings, key_a):
    """Only ``key_a``, active; returns a function that reconfigures the keys."""

    def configure(*keys, active=None, url=None):
        settings.COKO_JWT = {**settings.COKO_JWT, "KEYS": tuple(keys), "ACTIVE_KID": active,
                             "DEV_KEYS_DIR": None, "PUBLIC_KEYS_URL": url}

    configure(key_a, active="key-a")
    return configure


def b64(data) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(**overrides):
    """Valid claims for this platform's settings, ``overrides`` applied (None removes)."""
    from django.conf import settings

    now = int(time.time())
    values = {"iss": settings.COKO_JWT["ISSUER"], "aud": settings.COKO_JWT["AUDIENCE"],
              "sub": "user-1", "iat": now, "nbf": now, "exp": now + 600, "jti": "jti-1",
              "sid": "session-1", "typ": "access", "roles": ["user"],
              "permissions": ["read_books"]}
    values.update(overrides)
    return {name: value for name, value in values.items() if value is not None}


def sign(payload, key, **headers):
    """A token signed by ``key`` (PyJWT), with ``kid`` = the key's unless given."""
    return jwt.encode(payload, key.private_key, algorithm=key.alg,
                      headers={"kid": key.kid, **headers})


@contextmanager
def no_database_queries():
    """Fails if any query is sent on any database alias inside the block."""
    queries = []

    def record(execute, sql, params, many, context):
        queries.append((context["connection"].alias, sql))
        return execute(sql, params, many, context)

    with ExitStack() as stack:
        for alias in connections:
            stack.enter_context(connections[alias].execute_wrapper(record))
        yield queries
    assert queries == [], f"queries were sent: {queries}"


@pytest.fixture(autouse=True)
def empty_deny_list(redis_client):
    """Each test starts with nothing revoked (the Redis key space outlives a test)."""
    from django.conf import settings

    from coko.platform.auth import denylist

    for key in redis_client.scan_iter(f"{settings.REDIS_NAMESPACE}:auth:deny:*"):
        redis_client.delete(key)
    denylist.reset_redis_client()  # and this process's copy of it


@pytest.fixture
def dead_redis(settings, tmp_path):
    """Point the deny-list at a Unix socket nobody listens on."""
    settings.REDIS_URL = f"unix://{tmp_path / 'nobody-listens.sock'}"
