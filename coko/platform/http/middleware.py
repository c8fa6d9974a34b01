"""HTTP middleware of the platform: request ids, the ops endpoints, the API error envelope.

Order in ``settings.MIDDLEWARE`` (outermost first)::

    PrometheusBeforeMiddleware
    RequestIdMiddleware          X-Request-ID in and out, one JSON access line
    SecurityMiddleware           nosniff, Referrer-Policy, COOP; HTTPS redirect + HSTS (COKO_SECURE_HTTPS)
    ContentSecurityPolicyMiddleware  the CSP (relaxed for the API docs' inline styles)
    CorsMiddleware               CORS headers, preflights answered (COKO_CORS_ORIGINS)
    OpsEndpointsMiddleware       /health, /ready, /metrics served before any host check
    LocaleMiddleware             Accept-Language → active language (errors below are rendered in it)
    CompressionMiddleware        Brotli (API, feeds) or gzip (HTML, with BREACH padding)
    ConditionalGetMiddleware     ETag / If-None-Match on the final body
    ApiErrorEnvelopeMiddleware   every non-JSON 4xx/5xx under /api/ becomes the envelope
    ... sessions, common (host check), csrf, auth, messages, clickjacking
"""

from __future__ import annotations

import time

import structlog
from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from coko.platform.context import clean_request_id, request_id_var
from coko.platform.errors import ApiError, response_for_exception
from coko.platform.http.client import client_ip
from coko.platform.observability import get_logger

access_log = get_logger("coko.http.access")

API_PREFIX = "/api/"
OPS_PATHS = frozenset({"/health", "/ready", "/metrics"})


class RequestIdMiddleware:
    """Give every request an id and log it once.

    A caller's ``X-Request-ID`` is kept when it is sane (8-128 characters of
    ``[A-Za-z0-9._:-]``), otherwise a fresh one is minted. The id is put in
    ``request_id_var`` and structlog's context for the duration of the request
    (every log line and every outbox event written meanwhile carries it), set
    as ``request.request_id`` and returned in the ``X-Request-ID`` header of
    every response. One access line is logged per request: method, path,
    status, duration_ms, client (``client_ip``: the real client behind the gateway) (at DEBUG for the probe and scrape paths, which would
    otherwise flood the logs; INFO for everything else).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = clean_request_id(request.headers.get("X-Request-ID"))
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        try:
            with structlog.contextvars.bound_contextvars(request_id=request_id):
                response = self.get_response(request)
                response["X-Request-ID"] = request_id
                duration_ms = round((time.perf_counter() - started) * 1000, 2)
                level = "debug" if request.path in OPS_PATHS else "info"
                getattr(access_log, level)(
                    "request", method=request.method, path=request.path,
                    status=response.status_code, duration_ms=duration_ms, client=client_ip(request),
                )
        finally:
            request_id_var.reset(token)
        return response


class OpsEndpointsMiddleware:
    """Serve ``/health``, ``/ready`` and ``/metrics`` before any host validation.

    Kubelet probes and Prometheus reach the pod by its IP, which is not (and
    must not be) in ``ALLOWED_HOSTS``. Django validates the host lazily, in
    ``request.get_host()`` (CommonMiddleware, CSRF, SSL redirects …), so this
    middleware answers those three exact paths itself without calling the rest
    of the chain: nothing below it ever sees them, no host is read, no session
    or user is loaded. SecurityMiddleware, above it, adds its headers but
    redirects none of them to HTTPS (``SECURE_REDIRECT_EXEMPT``: probes speak
    plain HTTP to the pod). The same views
    are also in the URLconf (for ``reverse()`` and for a stack without this
    middleware). Every other path, ``/health/`` included, goes through the
    normal checks.
    """

    def __init__(self, get_response):
        from coko.platform.http import ops

        self.get_response = get_response
        self.views = {"/health": ops.health, "/ready": ops.ready, "/metrics": ops.metrics}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = self.views.get(request.path_info)
        if view is None:
            return self.get_response(request)
        # LocaleMiddleware is below: answer in the default language, whatever
        # this thread's previous request had activated.
        with translation.override(settings.LANGUAGE_CODE):
            if request.method not in ("GET", "HEAD"):
                return ApiError.for_status(405, Allow="GET, HEAD").response()
            return view(request)


class ApiErrorEnvelopeMiddleware:
    """Under ``/api/``, every error reaches the client as the JSON envelope.

    * ``process_exception``: an exception escaping a view under /api/ (ninja
      views handle their own through ``install_error_handlers``; this catches
      plain Django views mounted there) becomes the envelope.
    * on the way out: a 4xx/5xx response that is not JSON — Django's 404 for an
      unknown route (HTML, or the technical page under DEBUG), 405 from ninja,
      a CSRF 403, the 400 of a disallowed host, the 500 page — is replaced by
      the envelope of its status. ``Allow``, ``Retry-After``,
      ``WWW-Authenticate`` and ``Vary`` are kept. JSON responses (the envelope
      already, or a route's own JSON) pass untouched.
    """

    KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate", "Vary", "Content-Language")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path_info.startswith(API_PREFIX) or response.status_code < 400:
            return response
        if _is_json(response):
            return response
        details = None
        if response.status_code == 405 and response.has_header("Allow"):
            details = {"allowed": [m.strip() for m in response["Allow"].split(",") if m.strip()]}
        envelope = ApiError.for_status(response.status_code, details=details).response()
        for name in self.KEPT_HEADERS:
            if response.has_header(name):
                envelope[name] = response[name]
        return envelope

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        if not request.path_info.startswith(API_PREFIX):
            return None
        return response_for_exception(request, exc)


def _is_json(response: HttpResponse) -> bool:
    content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
    return content_type == "application/json" or content_type.endswith("+json")


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """django-csp's middleware: ``settings.CONTENT_SECURITY_POLICY`` on every response.

    On ``settings.COKO_CSP_RELAXED_PATHS`` (exact paths: the API docs: Swagger UI, served from
    ninja's bundled static files) the policy also allows inline styles and ``data:``
    images, which Swagger UI's React components and CSS need; scripts stay ``'self'``
    only (ninja's page has no inline script: its settings are a JSON data block).
    """

    DOCS_ADDITIONS = {"style-src": ["'unsafe-inline'"], "img-src": ["data:"]}

    def get_policy_parts(self, request, response, report_only: bool = False):
        parts = super().get_policy_parts(request, response, report_only)
        if request.path_info in settings.COKO_CSP_RELAXED_PATHS:
            parts.update = {**self.DOCS_ADDITIONS, **(parts.update or {})}
        return parts
