"""The whole OpenAPI, fuzzed (issue 10): no 5xx, every error in the envelope, answers as documented.

schemathesis reads ``/api/v1/openapi.json`` from the application and, for every operation,
generates requests from it — valid ones and invalid ones (wrong types, missing or unknown
fields, out-of-range numbers, odd strings, bodies of another shape, other methods, random
tokens in the ``Authorization`` header) — each operation three times over: anonymously
(``test_openapi_fuzz_anonymous.py``), with a reader's token (``…_reader.py``) and with a staff
token (``…_staff.py``): three files, so the test workers share them. A fresh user per
operation (the accounts factories). Every answer must be

* no 5xx, ever (a 500 is a bug; a 503 means the test lost a dependency);
* a 4xx in the error envelope, ``{"error": {"code", "message", "details"}}``;
* as documented: a status the operation lists, its content type, a body that validates
  against the response's schema (the envelope's for errors), documented headers as typed,
  and invalid input refused.

The requests go to Django's WSGI handler in this process, inside the test's transaction (no
server, nothing to clean up). Bounded and repeatable: ``MAX_EXAMPLES`` generated cases per
operation plus schemathesis's deterministic coverage cases (boundaries, each field wrong in
turn, other methods), a fixed seed, derandomized: ~7,500 requests, the same on every run. Each
request comes from a fresh client address and the per-user and per-address rate limits are
raised, so the cases reach the handlers instead of a 429 (the limits have their own tests).
Passwords are hashed with Django's fast MD5 hasher here: Argon2 is what the accounts tests
exercise, and it would make registering ~150 users and every login case take minutes.
A successful logout ends the caller's session: the next case signs in again.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from coko.devtools.testing.api import Api, client_address
from coko.domains.accounts.testing import signed_in_again, staff, user_with_roles

MAX_EXAMPLES = 10
SEED = 20261130
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]
#: Operations that end the caller's session when they succeed.
SESSION_ENDING = {("POST", "/api/v1/auth/logout"), ("DELETE", "/api/v1/auth/sessions")}
#: Each file's hypothesis settings: cases share the caller on purpose, and requests take their time.
FUZZ_SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                               HealthCheck.too_slow])

_django = WSGIHandler()


def application(environ, start_response):
    """Django's WSGI handler, kept inside the test's transaction: like Django's test client,
    it does not close the database connection at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = _django(environ, start_response)
        try:
            return [b"".join(response)]
        finally:
            response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application, config=schemathesis.Config.from_dict({
    "seed": SEED,
    "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "mode": "all"},
}))


@pytest.fixture
def generous_limits(settings):
    """Rate limits out of the way, fast password hashing (see the module's docstring)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.ACCOUNTS_RATE_LIMITS = {name: (10**6, window) for name, (_n, window) in
                                     settings.ACCOUNTS_RATE_LIMITS.items()}
    settings.COKO_CATALOG = {**settings.COKO_CATALOG, "SEARCH_PER_MIN": 10**6}
    settings.COKO_FILES = {**settings.COKO_FILES, "UPLOAD_RATE": (10**6, 3600)}


@pytest.fixture
def caller(request, generous_limits) -> Api | None:
    """Who sends the cases (``indirect`` parameter): ``"anonymous"`` (``None``), ``"reader"`` or
    ``"staff"``, a fresh user per operation."""
    return {"anonymous": lambda: None, "reader": user_with_roles, "staff": staff}[request.param]()


def envelope_error(response) -> dict:
    assert response.headers.get("content-type", [""])[0].startswith("application/json"), response.text[:300]
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert isinstance(body["error"]["code"], str) and body["error"]["message"], body
    return body["error"]


def send_and_check(case, caller: Api | None) -> None:
    """Send ``case`` as ``caller`` (``None``: anonymous) and check the answer (module docstring)."""
    headers = {"Accept-Encoding": "identity"}  # the in-process transport does not gunzip
    if caller is not None:
        headers["Authorization"] = f"Bearer {caller.token}"
    response = case.call(headers=headers, environ_overrides={"REMOTE_ADDR": client_address()})
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        envelope_error(response)
    if caller is not None and response.status_code < 300 and (case.method, case.path) in SESSION_ENDING:
        signed_in_again(caller)
