"""The one HTTP API: ``/api/v1``, OpenAPI at ``/api/v1/openapi.json``, docs at ``/api/v1/docs``.

Each domain publishes ``router = ninja.Router(tags=[...])`` in
``coko.domains.<domain>.http``. The platform imports no domain statically
(import-linter forbids it), so the routers are loaded by name over
``settings.COKO_DOMAINS`` and all mounted at the API root: a domain writes the
brief's paths itself (``/auth/login``, ``/books/search``, ``/payment/wave`` …).
Two domains must therefore never declare the same path: Django would route
every method of it to the first router (the other's methods answering 405).

Every error leaves as ``{"error": {"code", "message", "details"}}``
(``install_error_handlers``, see ``coko.platform.errors``). Operations are
CSRF-exempt at Django's level (ninja marks its views so); only cookie-based
auth classes check CSRF themselves, so Bearer-token clients are never asked
for a CSRF token, while the admin keeps Django's CSRF protection.
"""

from __future__ import annotations

import importlib

from django.conf import settings
from django.http import Http404, HttpRequest
from ninja import NinjaAPI, Router, Schema, Swagger
from ninja.errors import HttpError, ValidationError
from ninja.parser import Parser

from coko.platform.errors import BodyNotAnObject, response_for_exception
from coko.platform.http.home import LINKS
from coko.platform.http.openapi import EXTRA_ERRORS_KEY, OPTIONAL_AUTH_KEY, OPTIONAL_AUTH_NOTE
from coko.platform.version import app_version

API_VERSION = "1"

DESCRIPTION = """\
The HTTP API of Coko, the reading platform.

Errors, whatever their status, have one shape:
`{"error": {"code": "not_found", "message": "…", "details": …}}`. Branch on `code`;
`message` is written for people, in the language of `Accept-Language` (English or French).
Reads carry an `ETag` (send it back in `If-None-Match` to get a 304) and are gzipped on request.
Every response carries `X-Request-ID` (send your own to correlate logs).
"""


class ObjectBodyParser(Parser):
    """ninja's JSON body parser, refusing a body that is not a JSON object (a 422).

    Every request body of this API is an object (a ``Schema``). ninja's schemas read their
    fields from *any* value as attributes, so without this a string body ``"AAA"`` was a
    book titled ``"Aaa"`` (``str.title``) and ``[null, null]`` an empty profile update
    (found by the OpenAPI fuzz, issue 10). A route wanting a list wraps it in an object.
    """

    def parse_body(self, request: HttpRequest):
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise BodyNotAnObject(type(data).__name__)
        return data


def install_error_handlers(api: NinjaAPI) -> NinjaAPI:
    """Make every exception of ``api``'s operations leave as the error envelope."""
    for exc_class in (Exception, ValidationError, HttpError, Http404):
        api.add_exception_handler(exc_class, response_for_exception)
    return api


# --- the platform's own routes ------------------------------------------------------------------
platform_router = Router(tags=["meta"])


class MetaOut(Schema):
    name: str
    version: str
    api_version: str
    languages: list[str]


class RootOut(Schema):
    name: str
    version: str
    api_version: str
    links: dict[str, str]


@platform_router.get("/", response=RootOut, auth=None, summary="Where to start", operation_id="root")
def root(request: HttpRequest):
    """The API's name and version, and links to its documentation, the OPDS feeds and the console."""
    return {"name": "coko", "version": app_version(), "api_version": API_VERSION,
            "links": {**LINKS, "meta": "/api/v1/meta", "collections": "/api/v1/collections"}}


@platform_router.get("/meta", response=MetaOut, auth=None, summary="About this API",
                     operation_id="meta")
def meta(request: HttpRequest):
    """The platform's name, version and the languages its messages come in."""
    return {
        "name": "coko",
        "version": app_version(),
        "api_version": API_VERSION,
        "languages": [code for code, _name in settings.LANGUAGES],
    }


# --- the error responses in the OpenAPI ---------------------------------------------------------
ERROR_ENVELOPE_SCHEMA = {
    "title": "ErrorEnvelope",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "Stable, machine-readable: branch on it.",
                         "examples": ["not_found"]},
                "message": {"type": "string", "description": "For people, in the request's language."},
                "details": {"description": "Structured context (fields, limits, …) or null."},
            },
        },
    },
}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                                "schema": {"type": "integer"}}}
# status: (component name, description, headers)
ERROR_RESPONSES: dict[int, tuple[str, str, dict]] = {
    400: ("BadRequest", "The body cannot be read as its media type (malformed JSON, a multipart body "
          "without its boundary …): `bad_request`.", {}),
    401: ("Unauthorized", "No valid access token: missing (`unauthorized`), invalid, expired or "
          "revoked (`invalid_token`, `token_expired`, `token_revoked`): refresh and retry. Where the "
          "body carries credentials (login, refresh, social sign-in), they were refused "
          "(`invalid_credentials`, `invalid_refresh_token` …).",
          {"WWW-Authenticate": {"description": "`Bearer`", "schema": {"type": "string"}}}),
    403: ("Forbidden", "The token is valid but lacks a permission or role (`permission_denied`; "
          "`details` names what is missing), or the object is not the caller's.", {}),
    404: ("NotFound", "Nothing with that identifier (or nothing the caller may see).", {}),
    409: ("Conflict", "The request conflicts with the current state (a duplicate, a state that "
          "does not allow it).", {}),
    410: ("Gone", "It existed but is no more (an expired link, a removed file).", {}),
    413: ("PayloadTooLarge", "The request body is over its limit.", {}),
    422: ("Unprocessable", "The input is invalid (`validation_error`: `details` lists each field) "
          "or cannot be carried out as it stands.", {}),
    429: ("TooManyRequests", "Too many requests: the operation's own limit where it has one (login, "
          "registration, resets, search, uploads …) or a lockout.", _RETRY_AFTER),
    503: ("ServiceUnavailable", "A dependency (database, Redis) is unreachable: retry later "
          "(`details.dependency` names it).", _RETRY_AFTER),
}
_WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})


def _operation_auth(api: NinjaAPI) -> dict[str, list]:
    """``{operationId: [auth objects]}`` of every operation in the schema."""
    found = {}
    for bound_router in api._get_bound_routers():
        for path_view in bound_router.path_operations.values():
            for operation in path_view.operations:
                operation_id = operation.operation_id or api.get_openapi_operation_id(operation)
                found[operation_id] = list(operation.auth_callbacks or [])
    return found


def _is_optional(auth) -> bool:
    from coko.platform.auth.ninja import BearerAuth

    return isinstance(auth, BearerAuth) and auth.optional and not (auth.permissions or auth.roles)


def document_errors(schema: dict, api: NinjaAPI) -> dict:
    """Add the error envelope and the error responses each operation can meet to ``schema``.

    One place for every operation (no route declares them): ``401`` and ``403`` where a token
    is required (``401`` alone where it is optional: a token sent is still checked), ``404``
    where the path names an object, ``409`` on writes, ``400``, ``413`` and ``422`` where there is a
    body (``422`` also for bad parameters), ``429`` and ``503`` everywhere (every operation
    reads the database; limits and lockouts sit in front of many). Optional-auth operations are
    public: they list no security requirement (so the docs show no padlock on them), say in their
    description that a token, if sent, is checked, and carry ``x-coko-auth: optional``. A route adds the statuses
    its shape does not tell with ``openapi_extra=error_statuses(...)`` (``coko.platform.http.openapi``).
    Responses a route declares itself are left as they are.
    """
    components = schema.setdefault("components", {})
    components.setdefault("schemas", {})["ErrorEnvelope"] = ERROR_ENVELOPE_SCHEMA
    shared = components.setdefault("responses", {})
    for _status, (name, description, headers) in ERROR_RESPONSES.items():
        shared[name] = {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
            **({"headers": headers} if headers else {}),
        }
    auth_of = _operation_auth(api)
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            if method not in {"get", "put", "post", "delete", "options", "head", "patch", "trace"}:
                continue
            auths = auth_of.get(operation.get("operationId"), [])
            optional = bool(auths) and any(_is_optional(auth) for auth in auths)
            statuses = {429, 503, *operation.pop(EXTRA_ERRORS_KEY, ())}
            if auths:
                statuses |= {401} if optional else {401, 403}
                if optional:
                    operation.pop("security", None)
                    operation[OPTIONAL_AUTH_KEY] = "optional"
                    operation["description"] = "\n\n".join(
                        filter(None, [operation.get("description", "").strip(), OPTIONAL_AUTH_NOTE]))
            if "{" in path:
                statuses.add(404)
            if method in _WRITE_METHODS:
                statuses.add(409)
            if "requestBody" in operation:
                statuses |= {400, 413, 422}
            if operation.get("parameters"):
                statuses.add(422)
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                if status not in responses and str(status) not in responses:
                    responses[status] = {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"}
    return schema


class CokoAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI documents the error envelope on every operation (``document_errors``)."""

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return document_errors(schema, self)


# --- assembly ------------------------------------------------------------------------------------
def domain_routers() -> list[tuple[str, Router]]:
    """``(domain, router)`` of every domain, imported by name."""
    routers = []
    for domain in settings.COKO_DOMAINS:
        module = importlib.import_module(f"coko.domains.{domain}.http")
        routers.append((domain, module.router))
    return routers


def build_api() -> NinjaAPI:
    api = CokoAPI(
        title="Coko API",
        version=API_VERSION,
        description=DESCRIPTION,
        urls_namespace="api-v1",
        openapi_url="/openapi.json",
        docs_url="/docs",
        # Swagger UI from ninja's bundled static files (no CDN: the CSP allows 'self' only);
        # no validator badge (it would load an image from validator.swagger.io)
        docs=Swagger(settings={"validatorUrl": None}),
        parser=ObjectBodyParser(),
    )
    install_error_handlers(api)
    api.add_router("", platform_router)
    for _domain, router in domain_routers():
        api.add_router("", router)
    return api


api = build_api()
