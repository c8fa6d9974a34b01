"""Every 4xx/5xx under /api/ is ``{"error": {"code", "message", "details"}}``, never HTML.

Specified through the whole middleware stack (``api_urls`` serves the probe API
at /api/test/ next to the real one) and, for the handlers alone, through
ninja's TestClient.
"""

from __future__ import annotations

import json
import logging

import pytest
from django.test import Client
from ninja.testing import TestClient

pytestmark = pytest.mark.usefixtures("api_urls")


def error_of(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    return body["error"]


# --- unknown routes and methods ---------------------------------------------------------------
@pytest.mark.parametrize("debug", [False, True])
def test_unknown_api_route_is_a_json_404_even_under_debug(client, settings, debug):
    settings.DEBUG = debug
    response = client.get("/api/v1/no-such-route")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert b"<html" not in response.content.lower()


def test_pages_outside_the_api_keep_django_s_own_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_wrong_method_is_a_405_envelope_listing_the_allowed_methods(client):
    response = client.delete("/api/v1/meta")
    assert response.status_code == 405
    error = error_of(response)
    assert error["code"] == "method_not_allowed"
    assert error["details"] == {"allowed": ["GET"]}
    assert response["Allow"] == "GET"


# --- validation ------------------------------------------------------------------------------
def test_invalid_body_is_a_422_with_each_field_error(client):
    response = client.post("/api/test/items", {"title": "", "pages": 0}, content_type="application/json")
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_error"
    by_field = {tuple(item["loc"])[-1]: item for item in error["details"]}
    assert set(by_field) == {"title", "pages"}
    for item in error["details"]:
        assert set(item) == {"loc", "msg", "type"}
        assert item["loc"][0] == "body"
    assert by_field["pages"]["type"] == "greater_than"


def test_a_valid_body_passes(client):
    response = client.post("/api/test/items", {"title": "Sundiata", "pages": 120},
                           content_type="application/json")
    assert response.status_code == 200
    assert response.json() == {"title": "Sundiata", "pages": 120}


def test_malformed_json_is_a_400_envelope_in_the_reader_s_language(client):
    response = client.post("/api/v1/auth/login", "{not json", content_type="application/json",
                           HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 400
    error = error_of(response)
    assert (error["code"], error["details"]) == ("bad_request", {"reason": "body_unparsable"})
    # not ninja's English "Cannot parse request body", nor the parser's internals
    assert error["message"] == "Le corps de la requête est illisible : envoyez un objet JSON."


@pytest.mark.django_db(databases="__all__")
def test_a_json_body_that_is_not_an_object_is_a_422_and_changes_nothing():
    """Found by the OpenAPI fuzz (issue 10): ninja schemas read fields from any value as attributes,
    so ``"AAA"`` created a book titled "Aaa" (``str.title``) and ``[null, null]`` was a profile update."""
    from coko.domains.accounts.testing import staff

    editor = staff()
    for body in ("AAA", [None, None], 5, None):
        response = editor.client.post("/api/v1/books", json.dumps(body), content_type="application/json",
                                      HTTP_AUTHORIZATION=f"Bearer {editor.token}")
        assert response.status_code == 422, (body, response.content)
        error = error_of(response)
        assert error["code"] == "validation_error"
        assert error["details"][0]["loc"] == ["body"]
    assert editor.get("/books/mine").data == []
    profile = editor.put("/auth/profile", [None, None])
    assert profile.status_code == 422 and profile.data["error"]["details"][0]["loc"] == ["body"]


def test_handlers_work_on_any_ninja_api_through_install_error_handlers(probe_api):
    response = TestClient(probe_api).post("/items", json={"title": "x"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["loc"] == ["body", "pages"]  # not the parameter's name


# --- domain errors and framework exceptions ------------------------------------------------------
def test_domain_errors_carry_their_status_code_and_details(client):
    response = client.get("/api/test/conflict")
    assert response.status_code == 409
    assert error_of(response) == {
        "code": "book_taken",
        "message": "The request conflicts with the current state of the resource.",
        "details": {"book": "b1"},
    }


def test_rate_limited_sets_retry_after(client):
    response = client.get("/api/test/rate-limited")
    assert response.status_code == 429
    assert error_of(response)["code"] == "rate_limited"
    assert response["Retry-After"] == "30"


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/api/test/missing", 404, "not_found"),
    ("/api/test/forbidden", 403, "permission_denied"),
    ("/api/test/private", 401, "unauthorized"),
])
def test_framework_exceptions_map_to_statuses(client, path, status, code):
    response = client.get(path)
    assert response.status_code == status
    assert error_of(response)["code"] == code


def test_401_invites_a_bearer_token(client):
    assert client.get("/api/test/private")["WWW-Authenticate"] == "Bearer"


def test_domain_error_hierarchy_defaults():
    from coko.platform import errors

    expected = {
        errors.NotFound: (404, "not_found"),
        errors.Conflict: (409, "conflict"),
        errors.PermissionDenied: (403, "permission_denied"),
        errors.Unprocessable: (422, "unprocessable"),
        errors.RateLimited: (429, "rate_limited"),
        errors.ServiceUnavailable: (503, "service_unavailable"),
    }
    for cls, (status, code) in expected.items():
        exc = cls()
        assert isinstance(exc, errors.DomainError)
        assert (exc.status, exc.code) == (status, code)
    assert errors.ServiceUnavailable(retry_after=5).headers == {"Retry-After": "5"}


# --- 500: no traceback, logged with the request id -------------------------------------------------
@pytest.mark.parametrize("debug", [False, True])
def test_unexpected_exception_is_a_bare_500(client, settings, caplog, debug):
    settings.DEBUG = debug
    with caplog.at_level(logging.ERROR, logger="coko.errors"):
        response = client.get("/api/test/boom", HTTP_X_REQUEST_ID="trace-500-abcdef")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "internal_error"
    assert error["details"] == {"request_id": "trace-500-abcdef"}
    for leak in (b"Traceback", b"secret internal detail", b"RuntimeError", b".py"):
        assert leak not in response.content
    [record] = [r for r in caplog.records if r.name == "coko.errors"]
    assert record.msg["event"] == "unhandled_exception"
    assert record.msg["request_id"] == "trace-500-abcdef"
    assert isinstance(record.msg["exc_info"], RuntimeError)  # the traceback goes to the log only


@pytest.mark.parametrize("debug", [False, True])
def test_exception_in_a_plain_django_view_under_api_is_an_envelope(client, settings, debug):
    settings.DEBUG = debug
    response = client.get("/api/plain/boom")
    assert response.status_code == 500
    assert error_of(response)["code"] == "internal_error"
    assert b"plain view failure" not in response.content


def test_non_json_error_response_under_api_is_replaced(client):
    response = client.get("/api/plain/bad-request")
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


def test_disallowed_host_under_api_is_a_400_envelope(client):
    response = client.get("/api/v1/meta", HTTP_HOST="attacker.example")
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"


# --- CSRF: off for the API's token clients, on elsewhere ------------------------------------------
def test_api_posts_need_no_csrf_token():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/test/items", {"title": "t", "pages": 1}, content_type="application/json",
                           HTTP_AUTHORIZATION="Bearer some-token")
    assert response.status_code == 200


def test_csrf_rejection_of_a_plain_view_under_api_is_an_envelope():
    response = Client(enforce_csrf_checks=True).post("/api/plain/post")
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


@pytest.mark.django_db(databases="__all__")
def test_admin_keeps_csrf_protection():
    response = Client(enforce_csrf_checks=True).post("/admin/login/", {"username": "a", "password": "b"})
    assert response.status_code == 403
    assert b"CSRF" in response.content


# --- outages: 503 naming the dependency ------------------------------------------------------------
@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_request_hitting_a_dead_database_is_a_503(client, database_down):
    assert client.get("/api/test/catalog-events").json() == {"count": 0}
    with database_down("catalog"):
        response = client.get("/api/test/catalog-events")
    assert response.status_code == 503
    assert error_of(response) | {"message": ""} == {
        "code": "service_unavailable", "message": "", "details": {"dependency": "database"},
    }
    assert client.get("/api/test/catalog-events").status_code == 200  # recovers by itself


def test_a_request_hitting_a_dead_redis_is_a_503(client, dead_redis_url):
    response = client.get("/api/test/dead-redis", {"url": dead_redis_url})
    assert response.status_code == 503
    error = error_of(response)
    assert (error["code"], error["details"]) == ("service_unavailable", {"dependency": "redis"})
