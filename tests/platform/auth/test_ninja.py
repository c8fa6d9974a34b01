"""Bearer auth for ninja routes: 401 without a valid token, 403 without the permission."""

from __future__ import annotations

import types

import pytest
from django.urls import path
from ninja import NinjaAPI
from ninja.testing import TestClient

from coko.platform.auth.denylist import session_revoke
from coko.platform.auth.ninja import (
    ANONYMOUS,
    BearerAuth,
    OptionalBearerAuth,
    require_permission,
    require_role,
)
from coko.platform.auth.tokens import access_token_issue
from coko.platform.http.api import install_error_handlers

from .conftest import no_database_queries

API = install_error_handlers(NinjaAPI(title="auth-test", version="test", urls_namespace="auth-test"))


def me(request):
    principal = request.principal
    assert request.auth is principal
    return {"user_id": principal.user_id, "roles": sorted(principal.roles)}


API.get("/me", auth=BearerAuth(), operation_id="me")(me)
API.get("/download", auth=require_permission("download_books"), operation_id="download")(me)
API.get("/royalties", auth=require_permission("publish_books", "manage_royalties"),
        operation_id="royalties")(me)
API.get("/authors", auth=require_role("author", "publisher"), operation_id="authors")(me)


@API.get("/books", auth=OptionalBearerAuth())
def books(request):
    principal = request.principal
    if principal is None:
        assert request.auth is ANONYMOUS
        return {"reader": None}
    return {"reader": principal.user_id}


@API.post("/reviews", auth=BearerAuth())
def review(request):
    require_permission("write_reviews")(request)  # inside the operation
    return {"ok": True}


@pytest.fixture
def api():
    return TestClient(API)


def bearer(roles=("user",), permissions=("read_books", "write_reviews"), session_id="s-1"):
    token = access_token_issue(subject="user-1", roles=roles, permissions=permissions,
                               session_id=session_id)
    return {"Authorization": f"Bearer {token}"}


def envelope(response, status, code):
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    return error


def test_without_a_token_the_answer_is_a_401_envelope_with_a_bearer_challenge(api):
    response = api.get("/me")
    envelope(response, 401, "unauthorized")
    assert response["WWW-Authenticate"] == "Bearer"
    envelope(api.get("/me", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401, "unauthorized")


def test_with_a_valid_token_the_operation_gets_the_principal(api):
    with no_database_queries():
        response = api.get("/me", headers=bearer())
    assert response.status_code == 200, response.content
    assert response.json() == {"user_id": "user-1", "roles": ["user"]}


def test_a_bad_token_is_a_401_invalid_token(api):
    response = api.get("/me", headers={"Authorization": "Bearer not.a.token"})
    envelope(response, 401, "invalid_token")
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'


def test_a_revoked_session_is_a_401_token_revoked(api):
    headers = bearer(session_id="s-logged-out")
    assert api.get("/me", headers=headers).status_code == 200
    session_revoke("s-logged-out")
    envelope(api.get("/me", headers=headers), 401, "token_revoked")


def test_a_missing_permission_is_a_403_envelope_naming_it(api):
    response = api.get("/download", headers=bearer())
    error = envelope(response, 403, "permission_denied")
    assert error["details"] == {"missing_permissions": ["download_books"], "required_roles": []}
    assert response["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'
    premium = bearer(roles=["premium"], permissions=["read_books", "download_books"])
    assert api.get("/download", headers=premium).status_code == 200


def test_every_listed_permission_is_required(api):
    author = bearer(roles=["author"], permissions=["read_books", "publish_books"])
    error = envelope(api.get("/royalties", headers=author), 403, "permission_denied")
    assert error["details"] == {"missing_permissions": ["manage_royalties"], "required_roles": []}
    author = bearer(roles=["author"], permissions=["publish_books", "manage_royalties"])
    assert api.get("/royalties", headers=author).status_code == 200


def test_any_listed_role_suffices(api):
    error = envelope(api.get("/authors", headers=bearer()), 403, "permission_denied")
    assert error["details"] == {"missing_permissions": [], "required_roles": ["author", "publisher"]}
    assert api.get("/authors", headers=bearer(roles=["publisher"])).status_code == 200


@pytest.mark.parametrize("roles, permissions", [(["admin"], []), (["user"], ["*"])])
def test_admin_and_the_star_permission_pass_every_check(api, roles, permissions):
    headers = bearer(roles=roles, permissions=permissions)
    for route in ("/me", "/download", "/royalties", "/authors"):
        assert api.get(route, headers=headers).status_code == 200, route
    assert api.post("/reviews", headers=headers).status_code == 200


def test_a_check_inside_an_operation_reuses_the_principal_and_refuses_with_a_403(api):
    assert api.post("/reviews", headers=bearer()).status_code == 200
    reader = bearer(permissions=["read_books"])
    error = envelope(api.post("/reviews", headers=reader), 403, "permission_denied")
    assert error["details"] == {"missing_permissions": ["write_reviews"], "required_roles": []}


def test_an_optional_route_serves_anonymous_callers_and_still_checks_a_sent_token(api):
    assert api.get("/books").json() == {"reader": None}
    assert api.get("/books", headers=bearer()).json() == {"reader": "user-1"}
    envelope(api.get("/books", headers={"Authorization": "Bearer forged"}), 401, "invalid_token")


def test_redis_down_is_a_503_envelope_not_a_pass(api, dead_redis):
    headers = bearer()
    response = api.get("/me", headers=headers)
    error = envelope(response, 503, "service_unavailable")
    assert error["details"] == {"dependency": "redis"}
    assert response["Retry-After"] == "5"


def test_the_scheme_is_documented_in_openapi():
    schema = API.get_openapi_schema(path_prefix="")
    assert schema["components"]["securitySchemes"]["BearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}


# --- through the whole middleware stack -----------------------------------------------------------
@pytest.fixture
def full_stack(settings):
    from config import urls as project_urls

    urlconf = types.ModuleType("auth_test_urls")
    urlconf.urlpatterns = [path("api/auth-test/", API.urls), *project_urls.urlpatterns]
    settings.ROOT_URLCONF = urlconf


def test_through_django_the_envelope_keeps_the_challenge_and_no_query_is_made(client, full_stack):
    response = client.get("/api/auth-test/me", HTTP_ACCEPT_LANGUAGE="fr")
    envelope(response, 401, "unauthorized")
    assert response["WWW-Authenticate"] == "Bearer"
    token = bearer()["Authorization"]
    with no_database_queries():
        response = client.get("/api/auth-test/me", HTTP_AUTHORIZATION=token)
    assert response.status_code == 200 and response.json()["user_id"] == "user-1"
    response = client.get("/api/auth-test/me", HTTP_AUTHORIZATION="Bearer x.y.z")
    envelope(response, 401, "invalid_token")
    assert response["WWW-Authenticate"] == 'Bearer error="invalid_token"'
