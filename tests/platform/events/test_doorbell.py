"""An idle worker idles: its consumers wait for the broker's doorbell, not a polling timer.

Real Redis, real dramatiq broker and consumers (in this process). Threads that wait are
joined with a generous guard only so that a broken doorbell fails instead of hanging:
the idle poll is set to an hour, so nothing but the doorbell can wake them in time.
"""

from __future__ import annotations

import threading
import time

import dramatiq
import pytest
from django.conf import settings
from dramatiq.common import current_millis

from coko.domains.files import covers
from coko.domains.notifications import services as notifications
from coko.domains.payments import services as payments
from coko.platform import scheduling
from coko.platform.events import delivery
from coko.platform.events.doorbell import DoorbellConsumer, DoorbellRedisBroker
from coko.platform.management.commands import run_worker

HANG_GUARD_S = 60
QUEUE = "doorbell-test"


@pytest.fixture
def broker(redis_client):
    broker = dramatiq.get_broker()
    broker.doorbell.closing = False  # (an in-process worker of another test may have stopped)
    broker.flush(QUEUE)
    yield broker
    broker.flush(QUEUE)


def _next_in_thread(consumer) -> tuple[threading.Thread, list]:
    got: list = []
    thread = threading.Thread(target=lambda: got.append(next(consumer)), daemon=True)
    thread.start()
    return thread, got


def _until(predicate, *, what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def _message(n: int) -> dramatiq.Message:
    return dramatiq.Message(queue_name=QUEUE, actor_name="doorbell_test", args=(n,), kwargs={}, options={})


def test_the_worker_consumes_one_queue_per_consumer_domain_and_the_domains_actors_and_never_polls_them_fast(broker):
    assert isinstance(broker, DoorbellRedisBroker)
    # events: one queue per consumer domain; actors: notifications' deliveries, files' cover
    # fetches, payments' confirmations; the platform's scheduled jobs
    expected = ({delivery.queue_name(domain) for domain in settings.COKO_DOMAINS}
                | {notifications.QUEUE_NAME, covers.QUEUE_NAME, payments.QUEUE_NAME, scheduling.QUEUE})
    assert broker.get_declared_queues() == expected
    # an idle consumer looks at its queue at most every 15 s, within the heartbeat's limit
    assert broker.idle_poll_ms == 15_000 <= broker.heartbeat_timeout / 4
    consumer = broker.consume(QUEUE)
    assert isinstance(consumer, DoorbellConsumer)
    consumer.close()
    # worker threads wake once a second to notice a stop, not ten times
    assert run_worker.WORKER_TIMEOUT_MS == 1000


def test_an_idle_consumer_sleeps_until_a_message_is_enqueued_on_its_queue(broker, monkeypatch):
    monkeypatch.setattr(broker, "idle_poll_ms", 3_600_000)
    consumer = broker.consume(QUEUE, prefetch=1)
    fetches = []
    real_fetch = broker.do_fetch
    monkeypatch.setattr(broker, "do_fetch", lambda *args: fetches.append(args) or real_fetch(*args))
    try:
        assert broker.doorbell.subscribed.wait(HANG_GUARD_S)
        thread, got = _next_in_thread(consumer)
        _until(lambda: fetches, what="the consumer never looked at its queue")
        # another process's enqueue, as the relay's: rings the bell through Redis
        other = DoorbellRedisBroker(url=settings.REDIS_URL, namespace=broker.namespace)
        other.enqueue(_message(1))
        thread.join(HANG_GUARD_S)
        assert got == [None]  # woken: the consumer thread asks again at once ...
        message = next(consumer)  # ... and gets the message
        assert message.args == (1,)
        assert len(fetches) == 2  # one look before sleeping, one after the bell; no polling
        consumer.ack(message)
        other.close()
    finally:
        consumer.close()


def test_a_consumer_holding_a_delayed_message_wakes_when_it_is_due(broker):
    consumer = broker.consume(QUEUE)
    try:
        consumer.etas["m1"] = current_millis() + 400
        consumer.etas["m2"] = current_millis() + 60_000
        assert 0 < consumer._timeout_s() <= 0.4  # the earliest eta, not the idle poll
        consumer.etas.clear()
        assert consumer._timeout_s() == broker.idle_poll_ms / 1000
        broker.doorbell.closing = True  # a stopping worker: consumers look often, briefly
        assert consumer._timeout_s() == 0.1
    finally:
        broker.doorbell.closing = False
        consumer.close()


def test_a_full_consumer_wakes_when_one_of_its_messages_is_acknowledged(broker, monkeypatch):
    monkeypatch.setattr(broker, "idle_poll_ms", 3_600_000)
    for n in (1, 2):
        broker.enqueue(_message(n))
    consumer = broker.consume(QUEUE, prefetch=1)
    try:
        first = next(consumer)
        assert first.args == (1,)
        thread, got = _next_in_thread(consumer)  # prefetch full: waits for room
        consumer.ack(first)
        thread.join(HANG_GUARD_S)
        assert len(got) == 1, "the acknowledgement did not wake the consumer"
        second = got[0] or next(consumer)  # (None: woken before looking again)
        assert second.args == (2,)
        consumer.ack(second)
    finally:
        consumer.close()
