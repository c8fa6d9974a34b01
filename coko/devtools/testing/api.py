"""A JSON client for ``/api/v1`` as a mobile or web client uses it, for every domain's tests."""

from __future__ import annotations

import itertools
import json

from django.apps import apps
from django.test import Client

from coko.platform.crypto import field_decrypt

#: accounts' ``SIGNUP_CODE_REQUESTED``, by value: this client is shared by every domain's test
#: factories, which may not reach accounts through it (importlinter.ini, domains-independent).
SIGNUP_CODE_REQUESTED = "signup.code_requested"
PASSWORD = "a river in Saint-Louis"  # what Api.register() and the accounts factories register with
_addresses = itertools.count(1)


def client_address() -> str:
    """A fresh client address (rate limits key on it: one test's client never slows another's)."""
    n = next(_addresses)
    return f"41.82.{(n // 250) % 250}.{n % 250 + 1}"


class Api:
    """A JSON client for /api/v1, with an optional bearer token (``api.token``)."""

    def __init__(self, *, ip: str = "41.82.1.9") -> None:
        self.client = Client(REMOTE_ADDR=ip)
        self.token: str | None = None
        self.user_id: str | None = None
        self.email: str | None = None

    def _headers(self, token):
        token = token if token is not None else self.token
        return {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}

    def call(self, method: str, path: str, body=None, *, token=None, **extra):
        kwargs = {**self._headers(token), **extra}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        response = getattr(self.client, method)(f"/api/v1{path}", **kwargs)
        is_json = "json" in response.get("Content-Type", "application/json")
        response.data = json.loads(response.content) if response.content and is_json else None  # PDF, HTML: .content
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
        """Sign up as a client does: ``POST /auth/register/start``, then ``POST /auth/register``
        with the code the address was sent (read as the notifications domain reads it,
        ``signup_codes_sent``). An email is made up unless ``email`` or ``phone`` is given.

        The answer of the start when it refuses, else of the confirmation (a taken address is
        sent no code: its confirmation is refused like a wrong code); on 201 the client holds
        the new account's token.
        """
        body = {"password": PASSWORD, "display_name": "Awa", **fields}
        if "email" not in fields and "phone" not in fields:
            body["email"] = "awa@example.sn"
        sent = _signup_events().values_list("id", flat=True).last() or 0
        start = self.post("/auth/register/start",
                          {k: body[k] for k in ("email", "phone", "preferred_language") if k in body})
        if start.status_code != 202:
            return start
        new = _signup_events().filter(id__gt=sent).last()
        body.setdefault("code", field_decrypt(new.payload["code_encrypted"]) if new else "000000")
        response = self.post("/auth/register", body)
        if response.status_code == 201:
            self.token = response.data["tokens"]["access_token"]
            self.user_id = response.data["user"]["id"]
            self.email = body.get("email")
        return response


def _signup_events():
    return apps.get_model("accounts", "OutboxEvent").objects.filter(type=SIGNUP_CODE_REQUESTED).order_by("id")


def signup_codes_sent() -> list[str]:
    """Every sign-up code accounts has sent so far, oldest first, decrypted from its
    ``signup.code_requested`` events as the notifications domain reads them."""
    return [field_decrypt(payload["code_encrypted"]) for payload in _signup_events().values_list("payload", flat=True)]


__all__ = ["PASSWORD", "Api", "client_address", "signup_codes_sent"]
