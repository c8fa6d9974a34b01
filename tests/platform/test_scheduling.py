"""Scheduled jobs: one clock for the whole deployment (a Redis lease among the relays), due
jobs enqueued once per period whoever leads, and run by a real dramatiq worker."""

from __future__ import annotations

import threading

import dramatiq
import pytest
from dramatiq import Worker

from coko.platform import scheduling
from tests.platform.events.conftest import purge_broker, wait_for

RAN: list[str] = []
DONE = threading.Event()


@scheduling.scheduled("tests.heartbeat", every_s=60)
def heartbeat() -> None:
    RAN.append("heartbeat")
    DONE.set()


@pytest.fixture
def clocks(redis_client, settings):
    namespace = f"{settings.REDIS_NAMESPACE}:sched-test"
    for key in redis_client.scan_iter(f"{namespace}:*"):
        redis_client.delete(key)
    made = [scheduling.Clock(redis=redis_client, namespace=namespace) for _ in range(2)]
    yield made
    purge_broker()


def test_one_clock_leads_and_a_due_job_is_enqueued_once_per_period(clocks, clock):
    first, second = clocks
    assert "tests.heartbeat" in first.tick()
    assert second.tick() == []  # the lease is the first's
    assert "tests.heartbeat" not in first.tick()  # ran a moment ago
    clock.advance(61)
    assert "tests.heartbeat" in first.tick()


def test_a_new_leader_takes_over_without_running_again_what_just_ran(clocks, redis_client, clock):
    first, second = clocks
    assert "tests.heartbeat" in first.tick()
    redis_client.delete(first.lease_key)  # the first relay died and its lease ran out
    assert "tests.heartbeat" not in second.tick()
    assert first.tick() == []  # the second leads now
    clock.advance(61)
    assert "tests.heartbeat" in second.tick()


def test_a_worker_runs_the_job_the_clock_enqueued(clocks):
    RAN.clear()
    DONE.clear()
    clocks[0].tick()
    worker = Worker(dramatiq.get_broker(), queues={scheduling.QUEUE}, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        wait_for(DONE.is_set, message="the scheduled job did not run")
    finally:
        worker.stop()
    assert RAN == ["heartbeat"]


def test_the_payments_calendar_is_scheduled():
    names = {job.name: job.every_s for job in scheduling.jobs()}
    assert names["payments.orders_expire"] == 60
    assert names["payments.payments_poll"] == 60
    assert names["payments.subscriptions_lapse"] == 300


def test_an_unknown_job_is_refused_so_its_message_is_retried_elsewhere():
    with pytest.raises(LookupError):
        scheduling.job_run("tests.no_such_job")
