"""Fault injection against real components: PostgreSQL and Redis go away and come back.

Nothing is mocked. A ``FaultProxy`` (``coko.devtools.testing.proxy``) stands
between a client and the real server; ``cut()`` kills every live connection and
refuses new ones, like a server that died, and ``restore()`` brings it back.

* ``web``: a real WSGI server (Django's, single-threaded like a gunicorn sync
  worker) running the project in a thread of this process. Unlike Django's test
  ``Client`` (which disconnects ``close_old_connections`` from the request
  signals), it has the production request cycle: persistent database
  connections (``CONN_MAX_AGE``) and their health checks.
* ``postgres_proxy``: a proxy in front of the test databases' server; a web
  test points one alias at it with ``alias_through``.
* ``redis_proxy``: a proxy in front of Redis; ``web_redis_through`` points the
  web process's Redis clients (cache, readiness probe, broker) at it.
* ``processes``: the events tests' real relay/worker processes (see
  ``tests/platform/events/conftest.py``), where a process can be given extra
  environment (a relay whose Redis or database is behind a proxy).
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import sys
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import dramatiq
import pytest
from django.conf import settings as django_settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer
from django.db import connections

from coko.devtools.testing.proxy import FaultProxy
from tests.platform.events.conftest import (  # noqa: F401 — fixtures reused as they are
    ROOT,
    Processes,
    child_env,
    clean,
    effect_table,
    worker,
)


# --- proxies ------------------------------------------------------------------------------------
@pytest.fixture
def socket_dir():
    """A short directory for Unix sockets (``tmp_path`` can exceed their 107-byte limit)."""
    path = Path(tempfile.mkdtemp(prefix="coko-fault-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@dataclass
class PostgresProxy:
    proxy: FaultProxy
    host: str  # HOST / PORT a client uses to reach the server through the proxy
    port: str

    def __getattr__(self, name):
        return getattr(self.proxy, name)

    def url(self, database_url: str) -> str:
        """``database_url`` with its server replaced by the proxy."""
        parsed = urlparse(database_url)
        query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
        userinfo = parsed.netloc.rpartition("@")[0]
        userinfo = f"{userinfo}@" if userinfo else ""
        if self.host.startswith("/"):
            query["host"] = self.host
            netloc = userinfo + (f":{self.port}" if self.port else "")
        else:
            query.pop("host", None)
            netloc = f"{userinfo}{self.host}:{self.port}"
        return urlunparse(parsed._replace(netloc=netloc, query=urlencode(query)))


@pytest.fixture
def postgres_proxy(django_db_setup, socket_dir):
    """A proxy in front of the PostgreSQL server of the catalog alias."""
    real = connections["catalog"].settings_dict
    host, port = real["HOST"] or "/var/run/postgresql", str(real["PORT"] or "")
    if host.startswith("/"):  # a socket directory: same kind of door, in our own directory
        socket_name = f".s.PGSQL.{port or 5432}"
        proxy = FaultProxy(upstream=Path(host) / socket_name, listen=socket_dir / socket_name)
        via = PostgresProxy(proxy.start(), str(socket_dir), port)
    else:
        proxy = FaultProxy(upstream=(host, int(port or 5432))).start()
        via = PostgresProxy(proxy, proxy.address[0], str(proxy.address[1]))
    yield via
    proxy.stop()


@dataclass
class RedisProxy:
    proxy: FaultProxy
    url: str  # settings.REDIS_URL, through the proxy

    def __getattr__(self, name):
        return getattr(self.proxy, name)


@pytest.fixture
def redis_proxy(socket_dir):
    """A proxy in front of the project's Redis; ``.url`` reaches Redis through it."""
    real = urlparse(django_settings.REDIS_URL)
    listen = socket_dir / "redis.sock"
    if real.scheme == "unix":
        proxy = FaultProxy(upstream=real.path, listen=listen).start()
        url = f"unix://{listen}" + (f"?{real.query}" if real.query else "")
    else:  # redis:// or rediss://: the proxy speaks TCP on both sides (TLS passes through)
        proxy = FaultProxy(upstream=(real.hostname, real.port or 6379)).start()
        userinfo = real.netloc.rpartition("@")[0]
        netloc = f"{userinfo + '@' if userinfo else ''}{proxy.address[0]}:{proxy.address[1]}"
        url = urlunparse(real._replace(netloc=netloc))
    yield RedisProxy(proxy, url)
    proxy.stop()


# --- the web process -----------------------------------------------------------------------------
@dataclass
class Response:
    status: int
    body: dict

    @property
    def error(self) -> dict:
        assert set(self.body) == {"error"}, self.body
        assert set(self.body["error"]) == {"code", "message", "details"}, self.body
        return self.body["error"]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):  # the access lines of 503s are expected here
        pass


class WebProcess:
    """The project served over real HTTP by one thread, one request at a time."""

    def __init__(self) -> None:
        self.server = WSGIServer(("127.0.0.1", 0), QuietHandler, allow_reuse_address=True)
        self.server.set_app(WSGIHandler())
        self.thread = threading.Thread(target=self._serve, name="web", daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            self.server.serve_forever(poll_interval=0.05)
        finally:
            connections.close_all()  # this thread's persistent connections

    def get(self, path: str) -> Response:
        host, port = self.server.server_address[:2]
        conn = http.client.HTTPConnection(host, port, timeout=30)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return Response(response.status, json.loads(response.read()))
        finally:
            conn.close()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(10)
        self.server.server_close()


@pytest.fixture
def web(settings):
    """Start the web process *after* the test's fixtures have pointed clients at proxies."""
    settings.ROOT_URLCONF = "tests.platform.faults.urls"
    started: list[WebProcess] = []

    def start() -> WebProcess:
        started.append(WebProcess())
        return started[-1]

    yield start
    for process in started:
        process.stop()


@contextmanager
def alias_through(alias: str, proxy: PostgresProxy, **overrides):
    """Within the block, every thread's ``alias`` reaches its database through ``proxy``.

    ``settings_dict`` is shared by the alias's connection in every thread, so the
    web thread connects (lazily, on its first query) through the proxy. The
    connection is persistent, as in production (``CONN_MAX_AGE`` 60 s), with
    Django's health checks as configured.
    """
    config = connections[alias].settings_dict
    changes = {"HOST": proxy.host, "PORT": proxy.port, "CONN_MAX_AGE": 60, **overrides}
    saved = {key: config[key] for key in changes}
    connections[alias].close()
    config.update(changes)
    try:
        yield
    finally:
        connections[alias].close()
        config.update(saved)


@pytest.fixture
def web_redis_through(settings, monkeypatch):
    """Point the web process's three Redis clients at a proxy's ``url``.

    Exactly the objects the process uses: the Django cache (``CACHES``), the
    readiness probe's client (built from ``settings.REDIS_URL``) and the dramatiq
    broker's client (swapped for the client a broker built from that URL has).
    """
    from coko.platform.events.broker import build_broker

    def point(url: str) -> None:
        settings.REDIS_URL = url
        settings.CACHES = {"default": {**django_settings.CACHES["default"], "LOCATION": url}}
        proxied = build_broker(url=url, namespace=django_settings.REDIS_NAMESPACE).client
        monkeypatch.setattr(dramatiq.get_broker(), "client", proxied)

    return point


# --- relay and worker processes -------------------------------------------------------------------
class FaultProcesses(Processes):
    """``Processes`` whose children can get extra environment (only that child)."""

    def start(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        log = tempfile.NamedTemporaryFile("w+", prefix=f"coko-{args[0]}-", suffix=".log", delete=False)
        proc = subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=ROOT,
            env={**child_env(self.state), **(env or {})},
            stdout=log, stderr=subprocess.STDOUT, text=True,
        )
        proc.log_path = log.name
        self.procs.append(proc)
        return proc

    def relay(self, *, env: dict[str, str] | None = None, domain: str = "catalog") -> subprocess.Popen:
        return self._ready(self.start("relay_outbox", "--http-port", "0", "--domain", domain, env=env),
                           "relay running")

    @staticmethod
    def log(proc: subprocess.Popen) -> str:
        return Path(proc.log_path).read_text()


@pytest.fixture(scope="module")
def processes(django_db_setup):
    procs = FaultProcesses(django_db_setup)
    yield procs
    procs.stop_all()


@pytest.fixture
def start_relay(processes):
    """``start_relay(env={...})``: a relay of the catalog outbox, stopped when the test ends."""
    started = []

    def start(**kwargs):
        started.append(processes.relay(**kwargs))
        return started[-1]

    yield start
    for proc in started:
        processes.stop(proc)
