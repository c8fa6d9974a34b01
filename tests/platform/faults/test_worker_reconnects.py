"""The worker checks its database connections before use: after PostgreSQL restarts,
the next event is applied at once, not after a minute of failed retries.

A restart of PostgreSQL, seen from a client, is every backend of that client
terminated: its persistent connections are dead sockets it does not know about
yet. The suite shares its server with other runs, so instead of restarting it the
test terminates the worker's backends with ``pg_terminate_backend`` (exactly what
a restart does to the worker) and publishes an event right after.

The attack (a bad day, really): the worker kept its dead connections and found
out on the next event's query; dramatiq then retried the message with its
back-off, thread after thread, each with its own dead connection, so an event
published right after a restart took tens of seconds (about forty with eight
threads) to be handled.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

import pytest
from django.db import connections

from tests.platform.events.conftest import (
    child_env,
    effect_ids,
    publish_committed,
    purge_broker,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True, databases="__all__"), pytest.mark.live]

WORKER_APP = "coko-fault-worker"
THREADS = 4


def _named(url: str, application_name: str) -> str:
    """``url`` whose connections introduce themselves as ``application_name``."""
    parsed = urlparse(url)
    query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    query["application_name"] = application_name
    return urlunparse(parsed._replace(query=urlencode(query)))


@pytest.fixture
def named_worker(processes, effect_table):
    """A worker whose every database connection is named ``WORKER_APP``.

    It retries a message that met a database error with the production back-off
    (the suite's 20-200 ms would hide a retry behind a short wait).
    """
    env = child_env(processes.state)
    named = {key: _named(value, WORKER_APP) for key, value in env.items() if key.startswith("DATABASE_URL")}
    named.update(COKO_EVENT_MIN_BACKOFF_MS="1000", COKO_EVENT_MAX_BACKOFF_MS=str(15 * 60 * 1000))
    purge_broker()
    proc = processes._ready(
        processes.start("run_worker", "--threads", str(THREADS), "--http-port", "0", env=named),
        "worker running",
    )
    yield proc
    processes.stop(proc)


def terminate_worker_backends() -> int:
    """What a PostgreSQL restart does to the worker: every backend of it is gone."""
    with connections["analytics"].cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
            [WORKER_APP],
        )
        return cursor.fetchone()[0]


def test_an_event_published_right_after_a_postgresql_restart_is_handled_within_a_second(
    start_relay, processes, named_worker, clean, redis_client
):
    start_relay()
    # Every worker thread gets its persistent connections (several messages at once).
    warm_up = [str(publish_committed(aggregate=f"warm-up-{n}", seq=0).id) for n in range(4 * THREADS)]
    wait_for(lambda: set(effect_ids()) >= set(warm_up), message=processes.logs)

    for round_ in range(3):  # and again: a connection reopened after a restart is checked too
        assert terminate_worker_backends() > 0, "the worker holds persistent connections"
        published = time.monotonic()
        event = str(publish_committed(aggregate=f"after-restart-{round_}", seq=0).id)
        wait_for(lambda: event in effect_ids(), timeout=60, interval=0.01, message=processes.logs)
        took = time.monotonic() - published
        assert took < 1.0, f"round {round_}: the event took {took:.2f}s after the restart\n{processes.logs()}"
    assert named_worker.poll() is None
    assert "OperationalError" not in processes.log(named_worker)  # no message met a dead connection
