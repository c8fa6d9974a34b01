"""Live event machinery for the tests: real relay and worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connections

from . import handlers

ROOT = Path(__file__).resolve().parents[3]
HANDLERS_MODULE = "tests.platform.events.handlers"


def child_env(state) -> dict[str, str]:
    env = dict(os.environ)
    env.update(state.child_env())
    env["COKO_EXTRA_HANDLER_MODULES"] = HANDLERS_MODULE
    env["COKO_REDIS_NAMESPACE"] = settings.REDIS_NAMESPACE
    env["PYTHONPATH"] = str(ROOT)
    return env


class Processes:
    """Starts and always stops the relay and worker processes a test needs."""

    def __init__(self, state) -> None:
        self.state = state
        self.procs: list[subprocess.Popen] = []

    def start(self, *args: str) -> subprocess.Popen:
        # Logs go to a file, never a pipe: a full pipe would block the child.
        log = tempfile.NamedTemporaryFile("w+", prefix=f"coko-{args[0]}-", suffix=".log", delete=False)
        proc = subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=child_env(self.state),
            stdout=log, stderr=subprocess.STDOUT, text=True,
        )
        proc.log_path = log.name
        self.procs.append(proc)
        return proc

    def logs(self) -> str:
        return "\n".join(f"--- {p.args[2]} ({p.log_path})\n{Path(p.log_path).read_text()[-3000:]}"
                         for p in self.procs)

    def relay(self) -> subprocess.Popen:
        return self._ready(self.start("relay_outbox", "--http-port", "0"), "relay running")

    def worker(self, threads: int = 4) -> subprocess.Popen:
        """A dramatiq worker of this run's key space, started on empty queues.

        Messages left in the queues by earlier tests (a dead letter queued for replay
        with no worker running, a delivery still in flight when its test ended) are
        from databases that have been flushed since: a new worker would apply them
        now and add effects the running test did not cause. None of this run's
        workers is running here, so nothing is consuming them: they are dropped.
        """
        if not any(p.poll() is None and p.args[2] == "run_worker" for p in self.procs):
            purge_broker()
        return self._ready(self.start("run_worker", "--threads", str(threads), "--http-port", "0"),
                           "worker running")

    @staticmethod
    def _ready(proc: subprocess.Popen, marker: str, timeout: float = 30) -> subprocess.Popen:
        """Wait until the process says it is serving (or fail with its log)."""
        deadline = time.monotonic() + timeout
        while marker not in Path(proc.log_path).read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{proc.args[2]} did not start:\n{Path(proc.log_path).read_text()}")
            time.sleep(0.05)
        return proc

    def script(self, code: str) -> subprocess.CompletedProcess:
        prelude = "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); django.setup()\n"
        return subprocess.run([sys.executable, "-c", prelude + code], cwd=ROOT,
                              env=child_env(self.state), capture_output=True, text=True, timeout=60)

    def stop(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self) -> None:
        for proc in self.procs:
            self.stop(proc)
            Path(proc.log_path).unlink(missing_ok=True)
        self.procs.clear()


@pytest.fixture(scope="module")
def effect_table(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        with connections[handlers.CONSUMER].cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {handlers.EFFECT_TABLE} (id bigserial PRIMARY KEY,"
                f" event_id uuid NOT NULL, handler text NOT NULL, aggregate_id text NOT NULL,"
                f" seq int NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp())"
            )
    yield handlers.EFFECT_TABLE
    with django_db_blocker.unblock():
        with connections[handlers.CONSUMER].cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {handlers.EFFECT_TABLE}")


@pytest.fixture(scope="module")
def processes(django_db_setup):
    procs = Processes(django_db_setup)
    yield procs
    procs.stop_all()


@pytest.fixture(scope="module")
def worker(processes, effect_table):
    """One real dramatiq worker for the module."""
    proc = processes.worker()
    yield proc
    processes.stop(proc)


@pytest.fixture
def start_relay(processes):
    """Start relay processes for one test; they stop when the test ends."""
    started = []

    def start():
        started.append(processes.relay())
        return started[-1]

    yield start
    for proc in started:
        processes.stop(proc)


@pytest.fixture
def clean(effect_table, redis_client):
    """No effect rows, and none on the way: the previous test's deliveries are consumed first."""
    wait_for(lambda: queues_drained(redis_client), message="the previous test's deliveries consumed")
    with connections[handlers.CONSUMER].cursor() as cursor:
        cursor.execute(f"TRUNCATE {effect_table}")
    redis_client.delete(f"{settings.REDIS_NAMESPACE}:{handlers.HEAL_KEY}")
    yield


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.05, message: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    detail = message() if callable(message) else message
    raise AssertionError(f"timed out after {timeout}s waiting: {detail or predicate}")


def effects(*, where: str = "TRUE", params=()) -> list[tuple]:
    with connections[handlers.CONSUMER].cursor() as cursor:
        cursor.execute(
            f"SELECT event_id::text, handler, aggregate_id, seq FROM {handlers.EFFECT_TABLE}"
            f" WHERE {where} ORDER BY id", params,
        )
        return cursor.fetchall()


PRODUCER = "catalog"


def publish_committed(type_: str = "test.recorded", *, aggregate: str = "agg", **payload):
    """Publish one event from the catalog domain in a transaction of its own; returns it."""
    from django.db import transaction

    from coko.platform.events import publish

    with transaction.atomic(using=PRODUCER):
        return publish(producer=PRODUCER, type=type_, aggregate_id=aggregate, payload=handlers.Recorded(**payload))


def effect_ids() -> list[str]:
    return [row[0] for row in effects()]


def purge_broker() -> None:
    """Delete every key of this run's dramatiq namespace: queues, delayed messages, acks."""
    import dramatiq

    client = dramatiq.get_broker().client
    keys = list(client.scan_iter(f"{settings.REDIS_NAMESPACE}:dramatiq:*"))
    if keys:
        client.delete(*keys)


def queues_drained(redis_client) -> bool:
    """No message of the event queues waiting, delayed or being processed."""
    sizes = {b"list": redis_client.llen, b"zset": redis_client.zcard, b"hash": redis_client.hlen}
    keys = redis_client.keys(f"{settings.REDIS_NAMESPACE}:dramatiq:events.*")
    return all(sizes.get(redis_client.type(key), lambda _: 0)(key) == 0 for key in keys)
