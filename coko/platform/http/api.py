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
from importlib import metadata

from django.conf import settings
from django.http import Http404, HttpRequest
from ninja import NinjaAPI, Router, Schema, Swagger
from ninja.errors import HttpError, ValidationError

from coko.platform.errors import response_for_exception

API_VERSION = "1"

DESCRIPTION = """\
The HTTP API of Coko, the reading platform.

Errors, whatever their status, have one shape:
`{"error": {"code": "not_found", "message": "…", "details": …}}`. Branch on `code`;
`message` is written for people, in the language of `Accept-Language` (English or French).
Reads carry an `ETag` (send it back in `If-None-Match` to get a 304) and are gzipped on request.
Every response carries `X-Request-ID` (send your own to correlate logs).
"""


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


def _app_version() -> str:
    try:
        return metadata.version("coko")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@platform_router.get("/meta", response=MetaOut, auth=None, summary="About this API",
                     operation_id="meta")
def meta(request: HttpRequest):
    """The platform's name, version and the languages its messages come in."""
    return {
        "name": "coko",
        "version": _app_version(),
        "api_version": API_VERSION,
        "languages": [code for code, _name in settings.LANGUAGES],
    }


# --- assembly ------------------------------------------------------------------------------------
def domain_routers() -> list[tuple[str, Router]]:
    """``(domain, router)`` of every domain, imported by name."""
    routers = []
    for domain in settings.COKO_DOMAINS:
        module = importlib.import_module(f"coko.domains.{domain}.http")
        routers.append((domain, module.router))
    return routers


def build_api() -> NinjaAPI:
    api = NinjaAPI(
        title="Coko API",
        version=API_VERSION,
        description=DESCRIPTION,
        urls_namespace="api-v1",
        openapi_url="/openapi.json",
        docs_url="/docs",
        # Swagger UI from ninja's bundled static files (no CDN: the CSP allows 'self' only);
        # no validator badge (it would load an image from validator.swagger.io)
        docs=Swagger(settings={"validatorUrl": None}),
    )
    install_error_handlers(api)
    api.add_router("", platform_router)
    for _domain, router in domain_routers():
        api.add_router("", router)
    return api


api = build_api()
