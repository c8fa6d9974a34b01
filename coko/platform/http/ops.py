"""Operational endpoints of the web process: ``/health``, ``/ready``, ``/metrics``.

* ``/health`` (liveness): 200 ``{"status": "ok", "version", "started_at"}`` as
  long as the process answers; it touches no database and no Redis, so an outage
  elsewhere never gets healthy pods restarted.
* ``/ready`` (readiness): ``SELECT 1`` on every database alias, ``PING`` to
  Redis (``settings.REDIS_URL``) and to the dramatiq broker's Redis. 200
  ``{"status": "ready", "checks": {...}}`` or 503 with the error envelope
  (code ``not_ready``) whose ``details.checks`` names what failed. Each probe
  connects with a short timeout; aliases sharing a database that just failed
  are reported failed without waiting for it again.
* ``/metrics``: the Prometheus exposition of this process — django-prometheus's
  metrics (aggregated over gunicorn's workers through the
  ``MultiProcessCollector`` when ``PROMETHEUS_MULTIPROC_DIR`` is set, the
  default registry otherwise) followed by the outbox gauges of
  ``coko.platform.metrics``.

These paths are answered by ``OpsEndpointsMiddleware`` before any host
validation (kubelet and Prometheus call the pod IP); they are in the URLconf too.
"""

from __future__ import annotations

import os

import dramatiq
import prometheus_client
import redis
from django.conf import settings
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from prometheus_client import multiprocess

from coko.platform.errors import ApiError
from coko.platform.metrics import OUTBOX_REGISTRY, database_key, quick_connect
from coko.platform.observability import get_logger
from coko.platform.version import STARTED_AT, app_version

log = get_logger("coko.ops")

REDIS_TIMEOUT_S = 2
_redis_clients: dict[str, redis.Redis] = {}


@never_cache
def health(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok", "version": app_version(),
                         "started_at": STARTED_AT.isoformat(timespec="seconds")})


@never_cache
def ready(request: HttpRequest) -> HttpResponse:
    checks = readiness_checks()
    if all(result == "ok" for result in checks.values()):
        return JsonResponse({"status": "ready", "checks": checks})
    failed = sorted(name for name, result in checks.items() if result != "ok")
    log.warning("not_ready", failed=failed)
    error = ApiError(503, "not_ready", _("The service is not ready."), {"checks": checks})
    return error.response()


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ or "prometheus_multiproc_dir" in os.environ:
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = prometheus_client.REGISTRY
    body = prometheus_client.generate_latest(registry) + prometheus_client.generate_latest(OUTBOX_REGISTRY)
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)


# --- the readiness probes ------------------------------------------------------------------
def _failure(exc: BaseException) -> str:
    first_line = (str(exc).strip().splitlines() or [""])[0][:200]
    return f"error: {type(exc).__name__}: {first_line}".rstrip(": ")


def readiness_checks(aliases: list[str] | None = None) -> dict[str, str]:
    """Every dependency of a process: its database aliases (all by default), Redis, the broker.

    The web's ``/ready`` and the worker's and relay's (``coko.platform.ops_server``) use it.
    """
    return {**database_checks(aliases), "redis": redis_check(), "broker": broker_check()}


def database_checks(aliases: list[str] | None = None) -> dict[str, str]:
    """``{"database:<alias>": "ok" | "error: ..."}`` for ``aliases`` (every alias in DATABASES)."""
    results: dict[str, str] = {}
    failed: dict[tuple, str] = {}
    for alias in aliases if aliases is not None else settings.DATABASES:
        key = database_key(alias)
        if key in failed:
            results[f"database:{alias}"] = failed[key]
            continue
        results[f"database:{alias}"] = outcome = database_check(alias)
        if outcome != "ok":
            failed[key] = outcome
    return results


def database_check(alias: str) -> str:
    connection = connections[alias]
    try:
        with quick_connect(connection), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 — any failure means "not ready"
        return _failure(exc)
    return "ok"


def _redis_client(url: str) -> redis.Redis:
    client = _redis_clients.get(url)
    if client is None:
        client = _redis_clients[url] = redis.Redis.from_url(
            url, socket_connect_timeout=REDIS_TIMEOUT_S, socket_timeout=REDIS_TIMEOUT_S)
    return client


def _ping(client: redis.Redis) -> str:
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        return _failure(exc)
    return "ok"


def redis_check() -> str:
    return _ping(_redis_client(settings.REDIS_URL))


def broker_check() -> str:
    client = getattr(dramatiq.get_broker(), "client", None)
    if client is None:
        return "error: the dramatiq broker has no Redis client"
    return _ping(client)
