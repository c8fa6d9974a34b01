"""An idle worker that idles: consumers sleep until a message arrives, instead of polling.

dramatiq's Redis consumer polls: every consumer thread (one per queue and one per delay
queue: 24 in Coko, 11 domains and notifications) runs the broker's Lua ``fetch`` script,
and on an empty queue sleeps a back-off capped at the worker's ``worker_timeout``
(100 ms here, for latency) before polling again: ≈ 240 ``EVALSHA`` a second and ≈ 15 % of
a core for a worker with nothing to do. Raising the cap would trade that for up to a
second of latency on the first event after a pause.

Instead the broker rings a *doorbell*: after each enqueue it ``PUBLISH``\\ es the queue's
name on ``<namespace>:dramatiq:doorbell``; every worker process subscribes (one thread,
started with its first consumer) and wakes the consumers of that queue at once. An idle
consumer therefore blocks on a ``threading.Event``, and still fetches:

* at least every ``idle_poll_ms`` (default 15 s, at most a quarter of the broker's
  ``heartbeat_timeout``): the fetch is the worker's heartbeat, which must stay fresh or
  other workers would take its unacknowledged messages, and it is the safety net for
  a bell missed while the subscription was being re-established (a new subscription
  also rings every consumer once);
* when the earliest delayed message it holds is due (its ``eta``);
* when one of its messages is acknowledged (a consumer whose prefetch is full waits for
  room, not for a timer).

Latency is that of a pub/sub message (a fraction of a millisecond), the idle cost a
fetch per queue every 15 s. Queues are unchanged: one per consumer domain, so an
extracted domain's pod still consumes only its own.
"""

from __future__ import annotations

import threading
from collections import defaultdict

import redis
from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import current_millis
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import Middleware

from coko.platform.observability import get_logger

log = get_logger("coko.worker")

IDLE_POLL_MS = 15_000
CLOSING_POLL_MS = 100  # while the worker stops: dramatiq's own polling, briefly


class Doorbell(Middleware):
    """The process's subscription to the doorbell channel, and the consumers it wakes."""

    def __init__(self, broker: DoorbellRedisBroker) -> None:
        self.broker = broker
        self.channel = f"{broker.namespace}:doorbell"
        self.closing = False
        self._waiters: dict[str, set[threading.Event]] = defaultdict(set)
        self._lock = threading.Lock()
        self._stopped: threading.Event | None = None  # the running subscription's stop flag
        self.subscribed = threading.Event()

    # --- consumers ---------------------------------------------------------------------------
    def register(self, queue_name: str, event: threading.Event) -> None:
        with self._lock:
            self._waiters[queue_name].add(event)
            if self._stopped is None or self._stopped.is_set():
                self._stopped = threading.Event()
                threading.Thread(target=self._listen, args=(self._stopped,), name="dramatiq-doorbell",
                                 daemon=True).start()

    def unregister(self, queue_name: str, event: threading.Event) -> None:
        with self._lock:
            self._waiters[queue_name].discard(event)

    def ring(self, queue_name: str | None = None) -> None:
        """Wake the consumers of ``queue_name`` (all of them: None)."""
        with self._lock:
            events = [e for name, waiting in self._waiters.items() if queue_name in (None, name)
                      for e in waiting]
        for event in events:
            event.set()

    # --- the subscription ---------------------------------------------------------------------
    def _listen(self, stopped: threading.Event) -> None:
        backoff = 0.5
        while not stopped.is_set():
            pubsub = self.broker.client.pubsub()
            try:
                pubsub.subscribe(self.channel)
                while not stopped.is_set():
                    message = pubsub.get_message(timeout=1.0)  # (a stop is noticed within a second)
                    if message is None:
                        continue
                    if message["type"] == "subscribe":
                        backoff = 0.5
                        self.ring()  # a bell rung while not subscribed was missed: look now
                        self.subscribed.set()
                    elif message["type"] == "message":
                        self.ring(message["data"].decode())
            except (redis.RedisError, OSError, ValueError) as exc:
                self.subscribed.clear()
                log.warning("doorbell subscription lost; consumers poll until it is back",
                            error=str(exc)[:300], retry_in=backoff)
                self.ring()
                stopped.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                try:
                    pubsub.close()
                except Exception:  # noqa: BLE001 - already broken
                    pass

    def stop(self) -> None:
        with self._lock:
            if self._stopped is not None:
                self._stopped.set()
            self.subscribed.clear()
        self.ring()

    # --- dramatiq's worker life cycle -----------------------------------------------------------
    def before_worker_boot(self, broker, worker):
        self.closing = False

    def before_worker_shutdown(self, broker, worker):
        # Worker.stop joins the consumer threads: none should sleep through it.
        self.closing = True
        self.ring()

    def after_worker_shutdown(self, broker, worker):
        self.closing = False
        self.stop()


class DoorbellConsumer(_RedisConsumer):
    """dramatiq's Redis consumer, sleeping on the doorbell instead of a polling back-off."""

    def __init__(self, broker: DoorbellRedisBroker, queue_name, prefetch, timeout):
        super().__init__(broker, queue_name, prefetch, timeout)
        self.idle_s = min(broker.idle_poll_ms, broker.heartbeat_timeout / 4) / 1000
        self.doorbell = broker.doorbell
        self.wake = threading.Event()
        self.etas: dict[str, float] = {}  # delayed messages held (not yet acked): id -> eta (ms)
        self.full = False  # waiting for room in the prefetch: an ack wakes it
        self.doorbell.register(queue_name, self.wake)

    def _done(self, message) -> None:
        self.etas.pop(message.message_id, None)  # (the next eta can only be later)
        if self.full:
            self.wake.set()  # room in the prefetch (no wake-up, hence no fetch, otherwise)

    def ack(self, message):
        try:
            super().ack(message)
        finally:
            self._done(message)

    def nack(self, message):
        try:
            super().nack(message)
        finally:
            self._done(message)

    def close(self):
        self.doorbell.unregister(self.queue_name, self.wake)
        super().close()

    def _timeout_s(self) -> float:
        timeout = CLOSING_POLL_MS / 1000 if self.doorbell.closing else self.idle_s
        if self.etas:
            timeout = min(timeout, max(0.0, (min(self.etas.values()) - current_millis()) / 1000))
        return timeout

    def __next__(self):
        try:
            while True:
                if self.message_cache:
                    data = self.message_cache.pop(0)
                    if data is None:
                        continue
                    message = Message.decode(data)
                    self.queued_message_ids.add(message.message_id)
                    eta = message.options.get("eta")
                    if isinstance(eta, (int, float)):
                        self.etas[message.message_id] = eta
                    return MessageProxy(message)
                self.wake.clear()  # before the fetch: a bell rung during it is not lost
                self.full = self.outstanding_message_count >= self.prefetch
                if not self.full:
                    self.message_cache = self.broker.do_fetch(
                        self.queue_name, self.prefetch - self.outstanding_message_count)
                    if self.message_cache:
                        continue
                elif self.outstanding_message_count < self.prefetch:
                    continue  # an ack made room before ``full`` was seen
                self.wake.wait(self._timeout_s())
                return None  # the consumer thread moves its due delayed messages, then asks again
        except redis.ConnectionError as exc:
            raise ConnectionClosed(exc) from None


class DoorbellRedisBroker(RedisBroker):
    """dramatiq's Redis broker whose enqueues ring the doorbell of the queue."""

    def __init__(self, *, idle_poll_ms: int = IDLE_POLL_MS, **options) -> None:
        super().__init__(**options)
        self.idle_poll_ms = idle_poll_ms
        self.doorbell = Doorbell(self)
        self.add_middleware(self.doorbell)

    @property
    def consumer_class(self):
        return DoorbellConsumer

    def enqueue(self, message, *, delay=None):
        enqueued = super().enqueue(message, delay=delay)
        try:
            self.client.publish(self.doorbell.channel, enqueued.queue_name)
        except redis.RedisError as exc:  # the message is queued: it waits for the next poll
            log.warning("doorbell not rung", queue=enqueued.queue_name, error=str(exc)[:300])
        return enqueued

    def close(self) -> None:
        self.doorbell.stop()
        super().close()

