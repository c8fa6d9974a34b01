"""Accounts tests talk to the API like a client does, against real PostgreSQL and Redis."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client

from coko.platform.crypto import field_decrypt


class Api:
    """A JSON client for /api/v1, with an optional bearer token."""

    def __init__(self, *, ip: str = "41.82.1.9") -> None:
        self.client = Client(REMOTE_ADDR=ip)
        self.token: str | None = None

    def _headers(self, token):
        token = token if token is not None else self.token
        return {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, body=None, *, token=None, **extra):
        kwargs = {**self._headers(token), **extra}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        response = getattr(self.client, method)(f"/api/v1{path}", **kwargs)
        response.data = json.loads(response.content) if response.content else None
        return response

    def get(self, path, **kw):
        return self.call("get", path, **kw)

    def post(self, path, body=None, **kw):
        return self.call("post", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.call("put", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.call("patch", path, body, **kw)

    def delete(self, path, **kw):
        return self.call("delete", path, **kw)

    def register(self, **fields):
        body = {"password": "a river in Saint-Louis", "display_name": "Awa", **fields}
        if "email" not in fields and "phone" not in fields:
            body["email"] = "awa@example.sn"
        response = self.post("/auth/register", body)
        if response.status_code == 201:
            self.token = response.data["tokens"]["access_token"]
        return response


@pytest.fixture
def api():
    return Api()


@pytest.fixture(autouse=True)
def _fresh_rate_limits(redis_client):
    """Rate-limit counters are per test: one test's logins don't lock out the next."""
    for key in redis_client.scan_iter(f"{settings.REDIS_NAMESPACE}:rl:*"):
        redis_client.delete(key)
    yield


def outbox(type_: str) -> list[dict]:
    from django.apps import apps

    rows = apps.get_model("accounts", "OutboxEvent").objects.filter(type=type_).order_by("id")
    return [row.payload for row in rows]


def code_sent(purpose: str) -> str:
    """The one-time code, as the notifications domain will read it from the event."""
    events = [e for e in outbox("verification.requested") + outbox("password_reset.requested")
              if e["purpose"] == purpose]
    return field_decrypt(events[-1]["code_encrypted"])
