"""make bench-auth: what authenticating one request costs, in microseconds.

Runs in one process with the real settings and the real Redis (the deny-list
round trip is a real ``MGET``), and prints mean / p50 / p99 of:

* token verification alone (``access_token_verify``), EdDSA (the default) and RS256:
  - *cold*: signature + claims checked (the first request of each token in a process),
    without and with the deny-list;
  - *warm*: a token already verified by this process (its signature is remembered, see
    ``coko.platform.auth.tokens``), without and with the deny-list — what almost every
    request costs, a client sending the same token for ten minutes;
  - the deny-list alone: from the process's copy (``coko.platform.auth.revocations``,
    what a request pays once the copy is confirmed) and the Redis ``MGET`` a request
    pays while it is not;
* a whole Django request (the WSGI handler, every middleware of ``settings.MIDDLEWARE``)
  to a ninja route protected by ``BearerAuth`` (warm, warm without the deny-list, and
  cold), next to the same bare route without auth, measured interleaved in the same run.

Nothing touches a database: no query is made by any of these.

The tables above run with tracing off, as in any process without
``OTEL_EXPORTER_OTLP_ENDPOINT``. ``--tracing`` adds the bare and the warm request with
tracing on, as the web process has it with an endpoint (``coko.platform.tracing``: the
Django, psycopg and Redis instrumentations, every span recorded, handed to an exporter
that drops them: what the request thread pays, not the batch exporter's thread) and off,
switching every round in the same process.
"""

from __future__ import annotations

import argparse
import gc
import io
import os
import platform
import statistics
import sys
import time
import types
import warnings
from collections.abc import Callable


def _prepare_environment() -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "COKO_REDIS_NAMESPACE": "cokobench",
        "COKO_LOG_CONSOLE": "1",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    })


def _summary(samples_ns: list[int]) -> tuple[float, float, float]:
    values = sorted(samples_ns)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return statistics.fmean(values) / 1000, values[len(values) // 2] / 1000, p99 / 1000


def _measure(scenarios: dict[str, Callable[[], object]], *, iterations: int,
             rounds: int = 10) -> dict[str, list[int]]:
    """Time each call of each scenario; scenarios are interleaved in ``rounds`` rounds so
    that they share the machine's conditions."""
    samples: dict[str, list[int]] = {name: [] for name in scenarios}
    per_round = max(1, iterations // rounds)
    clock = time.perf_counter_ns
    for name, call in scenarios.items():  # warm-up
        for _ in range(min(200, per_round)):
            call()
    gc.collect()
    for _ in range(rounds):
        for name, call in scenarios.items():
            bucket = samples[name]
            for _ in range(per_round):
                began = clock()
                call()
                bucket.append(clock() - began)
    return samples


def _measure_tracing(scenarios: Callable[[], dict[str, Callable[[], object]]], *,
                     iterations: int, rounds: int = 10) -> dict[str, list[int]]:
    """Each scenario with tracing on, then off, every round. ``scenarios()`` builds the calls
    anew each time: a new WSGI handler reads the middleware list the instrumentation changes."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    from coko.platform import tracing

    class Drop(SpanExporter):
        def export(self, spans):
            return SpanExportResult.SUCCESS

    samples: dict[str, list[int]] = {}
    per_round = max(1, iterations // rounds)
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for on in (True, False):
            if on:
                tracing.configure(role="bench", exporter=Drop())
            with warnings.catch_warnings():  # each new handler's WhiteNoise: "No directory at"
                warnings.simplefilter("ignore")
                calls = scenarios()
            for name, call in calls.items():
                timings = samples.setdefault(f"{name}, tracing {'on' if on else 'off'}", [])
                for _ in range(min(100, per_round)):  # warm-up
                    call()
                for _ in range(per_round):
                    started = clock()
                    call()
                    timings.append(clock() - started)
            tracing.shutdown()
    return dict(sorted(samples.items()))


def _wsgi_call(handler, path: str, authorization: str | None) -> Callable[[], object]:
    base = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
        "SERVER_NAME": "localhost", "SERVER_PORT": "8000", "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_HOST": "localhost", "HTTP_ACCEPT": "application/json",
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
        "wsgi.multithread": True, "wsgi.multiprocess": True, "wsgi.run_once": False,
    }
    if authorization:
        base["HTTP_AUTHORIZATION"] = authorization
    statuses: list[str] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def call():
        environ = dict(base)
        environ["wsgi.input"] = io.BytesIO(b"")
        response = handler(environ, start_response)
        b"".join(response)
        response.close()
        status = statuses.pop()
        if not status.startswith("200"):
            raise SystemExit(f"FAILED: GET {path} answered {status}")

    return call


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--iterations", type=int, default=5000, help="calls per scenario")
    parser.add_argument("--tracing", action="store_true", help="with tracing on (spans recorded, then dropped)")
    options = parser.parse_args()

    _prepare_environment()
    import django

    django.setup()
    import cryptography
    from cryptography.hazmat.backends.openssl import backend
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import connections
    from django.test.utils import override_settings
    from django.urls import path
    from ninja import NinjaAPI

    from coko.platform.auth import denylist
    from coko.platform.auth.keys import KeySet, generate_key
    from coko.platform.auth.ninja import BearerAuth
    from coko.platform.auth.tokens import TokenVerifier, access_token_issue, access_token_verify
    from coko.platform.http.api import install_error_handlers

    ed, rs = generate_key("bench-ed25519"), generate_key("bench-rsa", alg="RS256")
    override = override_settings(COKO_JWT={**settings.COKO_JWT, "KEYS": (ed,), "ACTIVE_KID": ed.kid,
                                           "DEV_KEYS_DIR": None, "PUBLIC_KEYS_URL": None})
    override.enable()
    claims = {"subject": "8a6e0804-2bd0-4f3a-9a57-4f1e2a1b9c11", "roles": ["premium", "user"],
              "permissions": ["read_books", "write_reviews", "download_books"],
              "session_id": "5f0c6d0e-4a8e-4b8e-9d7e-0c1d2e3f4a5b"}
    token = access_token_issue(**claims)
    rs_keys = KeySet([rs])
    rs_token = access_token_issue(keys=rs_keys, **claims)

    cold = TokenVerifier(cache_size=0, check_revocation=False)
    cold_denylist = TokenVerifier(cache_size=0)
    warm = TokenVerifier(check_revocation=False)
    rs_cold = TokenVerifier(keys=rs_keys, cache_size=0, check_revocation=False)
    rs_cold_denylist = TokenVerifier(keys=rs_keys, cache_size=0)
    principal = access_token_verify(token)
    copy = denylist.mirror()  # this process's copy of the deny-list: wait until it is confirmed
    deadline = time.monotonic() + 10
    while not copy.trusted():
        if time.monotonic() > deadline:
            raise SystemExit("FAILED: the deny-list's local copy never confirmed itself")
        time.sleep(0.01)
    ns = settings.REDIS_NAMESPACE
    mget_keys = (f"{ns}:auth:deny:jti:{principal.jti}", f"{ns}:auth:deny:sid:{principal.session_id}",
                 f"{ns}:auth:deny:rv:{principal.user_id}")

    print(f"coko bench-auth: {options.iterations:,} calls per scenario, interleaved; "
          f"Python {platform.python_version()}, cryptography {cryptography.__version__} "
          f"({backend.openssl_version_text()}), {os.cpu_count()} CPUs; Redis {settings.REDIS_URL}")
    print(f"token: {len(token)} bytes (EdDSA), {len(rs_token)} bytes (RS256)\n")

    verification = _measure({
        "EdDSA cold: signature + claims": lambda: cold.verify(token),
        "EdDSA cold: signature + claims + deny-list": lambda: cold_denylist.verify(token),
        "EdDSA warm: claims (signature cached)": lambda: warm.verify(token),
        "EdDSA warm: claims + deny-list  <- a request": lambda: access_token_verify(token),
        "RS256 cold: signature + claims": lambda: rs_cold.verify(rs_token),
        "RS256 cold: signature + claims + deny-list": lambda: rs_cold_denylist.verify(rs_token),
        "deny-list alone (the process's copy)": lambda: denylist.revocation_status(
            principal.jti, principal.session_id, principal.user_id, principal.roles_version),
        "deny-list round trip alone (MGET, copy unconfirmed)": lambda: denylist._mget(*mget_keys),
    }, iterations=options.iterations)

    api = install_error_handlers(NinjaAPI(title="bench", version="bench", urls_namespace="bench-auth"))

    class ColdBearerAuth(BearerAuth):
        def authenticate(self, request, token):
            return cold_denylist.verify(token)

    class NoDenyListBearerAuth(BearerAuth):
        def authenticate(self, request, token):
            return warm.verify(token)

    @api.get("/bare", auth=None)
    def bare(request):
        return {"ok": True}

    @api.get("/auth", auth=BearerAuth())
    def authenticated(request):
        return {"ok": True, "user": request.principal.user_id}

    @api.get("/auth-no-deny-list", auth=NoDenyListBearerAuth())
    def authenticated_without_deny_list(request):
        return {"ok": True, "user": request.principal.user_id}

    @api.get("/auth-cold", auth=ColdBearerAuth())
    def authenticated_cold(request):
        return {"ok": True, "user": request.principal.user_id}

    urlconf = types.ModuleType("bench_auth_urls")
    urlconf.urlpatterns = [path("api/bench/", api.urls)]
    override_urls = override_settings(ROOT_URLCONF=urlconf)
    override_urls.enable()
    handler = WSGIHandler()
    bearer = f"Bearer {token}"
    queries: list[str] = []
    wrappers = [connections[alias].execute_wrapper(
        lambda execute, sql, *args: queries.append(sql) or execute(sql, *args))
        for alias in connections]
    for wrapper in wrappers:
        wrapper.__enter__()
    requests = _measure({
        "bare request (no auth)": _wsgi_call(handler, "/api/bench/bare", None),
        "request + BearerAuth (warm, no deny-list)": _wsgi_call(
            handler, "/api/bench/auth-no-deny-list", bearer),
        "request + BearerAuth (warm)": _wsgi_call(handler, "/api/bench/auth", bearer),
        "request + BearerAuth (cold)": _wsgi_call(handler, "/api/bench/auth-cold", bearer),
    }, iterations=options.iterations)
    for wrapper in wrappers:
        wrapper.__exit__(None, None, None)

    def table(title: str, samples: dict[str, list[int]]) -> dict[str, tuple[float, float, float]]:
        print(f"{title:<48} {'mean':>8} {'p50':>8} {'p99':>8}   (µs)")
        results = {}
        for name, values in samples.items():
            results[name] = mean, p50, p99 = _summary(values)
            print(f"  {name:<46} {mean:8.1f} {p50:8.1f} {p99:8.1f}")
        print()
        return results

    v = table("access_token_verify", verification)
    r = table("whole Django request (WSGI, every middleware)", requests)
    bare_p50 = r["bare request (no auth)"][1]
    print("what authentication adds to a request (p50): "
          f"{r['request + BearerAuth (warm)'][1] - bare_p50:.1f} µs warm, "
          f"{r['request + BearerAuth (warm, no deny-list)'][1] - bare_p50:.1f} µs warm without "
          f"the deny-list, {r['request + BearerAuth (cold)'][1] - bare_p50:.1f} µs cold")
    print("verification without the deny-list round trip (p50): "
          f"{v['EdDSA warm: claims (signature cached)'][1]:.1f} µs warm, "
          f"{v['EdDSA cold: signature + claims'][1]:.1f} µs cold (EdDSA), "
          f"{v['RS256 cold: signature + claims'][1]:.1f} µs cold (RS256)")
    print(f"database queries during the requests: {len(queries)}")
    print(f"deny-list answered by the process's copy at the end: {copy.trusted()} "
          f"(else by a Redis MGET)")
    if options.tracing:
        print()
        traced = table("the same requests, tracing on / off", _measure_tracing(lambda: {
            "bare request": _wsgi_call(WSGIHandler(), "/api/bench/bare", None),
            "request + BearerAuth (warm)": _wsgi_call(WSGIHandler(), "/api/bench/auth", bearer),
        }, iterations=options.iterations))
        print("what tracing adds to a request (p50): " + ", ".join(
            f"{traced[f'{name}, tracing on'][1] - traced[f'{name}, tracing off'][1]:.1f} µs {name}"
            for name in ("bare request", "request + BearerAuth (warm)")))
    override_urls.disable()
    override.disable()
    return 0 if not queries else 1


if __name__ == "__main__":
    from coko.devtools.bench.machine import machine_load

    with machine_load("bench-auth"):
        status = main()
    sys.exit(status)
