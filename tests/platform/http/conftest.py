"""Fixtures of the HTTP edge specification.

The real API has no domain routes yet, so error behaviour is specified through
``probe_api``: a separate NinjaAPI defined here, with the platform's handlers
installed by ``install_error_handlers`` exactly as the real API has them. The
``api_urls`` fixture serves it at ``/api/test/`` next to the project's own
URLconf, so requests go through the whole real middleware stack. Plain Django
views are mounted there too, for what happens outside ninja under ``/api/``.

Outages are real: ``database_down(alias)`` points one alias at a closed TCP
port, ``dead_redis_url`` is a Unix socket nobody listens on.
"""

from __future__ import annotations

import socket
import types
from contextlib import contextmanager

import pytest
import redis
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import connections
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.urls import path
from ninja import NinjaAPI, Schema
from ninja.security import HttpBearer
from pydantic import Field

from coko.platform import errors
from coko.platform.http.api import install_error_handlers

PROBE_API = install_error_handlers(NinjaAPI(title="probe", version="test", urls_namespace="probe-api"))


class ItemIn(Schema):
    title: str = Field(min_length=1)
    pages: int = Field(gt=0)


class RejectAll(HttpBearer):
    def authenticate(self, request, token):
        return None


@PROBE_API.post("/items")
def create_item(request, item: ItemIn):
    return {"title": item.title, "pages": item.pages}


@PROBE_API.get("/boom")
def boom(request):
    raise RuntimeError("secret internal detail")


@PROBE_API.get("/conflict")
def conflict(request):
    raise errors.Conflict("book_taken", details={"book": "b1"})


@PROBE_API.get("/rate-limited")
def rate_limited(request):
    raise errors.RateLimited(retry_after=30)


@PROBE_API.get("/missing")
def missing(request):
    raise Http404("no such thing")


@PROBE_API.get("/forbidden")
def forbidden(request):
    raise DjangoPermissionDenied


@PROBE_API.get("/private", auth=RejectAll())
def private(request):
    return {"never": "here"}


@PROBE_API.get("/catalog-events")
def catalog_events(request):
    from coko.domains.catalog.models import OutboxEvent

    return {"count": OutboxEvent.objects.count()}


@PROBE_API.get("/dead-redis")
def dead_redis(request):
    redis.Redis.from_url(request.GET["url"], socket_connect_timeout=1).ping()
    return {"never": "here"}


def plain_boom(request):
    raise ValueError("plain view failure")


def plain_bad_request(request):
    return HttpResponseBadRequest("<h1>Bad Request</h1>")


def plain_post(request):  # not csrf_exempt: Django's CSRF applies
    return HttpResponse("ok")


@pytest.fixture
def api_urls(settings):
    """The project's URLconf plus ``/api/test/`` (probe_api and plain views)."""
    from config import urls as project_urls

    urlconf = types.ModuleType("probe_urls")
    urlconf.urlpatterns = [
        path("api/test/", PROBE_API.urls),
        path("api/plain/boom", plain_boom),
        path("api/plain/bad-request", plain_bad_request),
        path("api/plain/post", plain_post),
        *project_urls.urlpatterns,
    ]
    settings.ROOT_URLCONF = urlconf
    return urlconf


def closed_port() -> int:
    """A TCP port on 127.0.0.1 that refuses connections."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def probe_api():
    return PROBE_API


@pytest.fixture
def database_down():
    """``with database_down("catalog"): ...``: that alias's database is unreachable."""
    return _database_down


@contextmanager
def _database_down(alias: str):
    """Within the block, ``alias`` points at a closed port (restored afterwards)."""
    connection = connections[alias]
    saved = {key: connection.settings_dict[key] for key in ("HOST", "PORT")}
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)


@pytest.fixture
def dead_redis_url(tmp_path):
    return f"unix://{tmp_path / 'nobody-listens.sock'}"
