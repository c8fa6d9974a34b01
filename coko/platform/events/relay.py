"""The outbox relay: moves committed events from each domain's outbox to dramatiq.

Per domain and per cycle, in one transaction on the producer's alias:

1. claim the *heads* of pending aggregates (the oldest pending event of each
   aggregate) with ``SELECT … FOR UPDATE SKIP LOCKED``: concurrent relays split
   the work and never hold two events of the same aggregate;
2. take the claimed aggregates' following pending events too (nobody else can
   claim them: they are not heads), in id order;
3. for each handler, enqueue messages of *runs*: an aggregate's events of the
   types the handler takes, in order, each run naming the previous event of the
   aggregate the handler was sent; the consumer applies a run after it;
4. mark the rows sent (or unrouted, when no handler takes the type yet) and commit.

A relay that dies between 3 and 4 leaves the rows pending: the next cycle sends
them again and the consumers' inboxes drop the duplicates. A broker outage
rolls the cycle back; the relay backs off and catches up when Redis is back.
"""

from __future__ import annotations

import json
import select
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

import dramatiq
import psycopg
from django.apps import apps
from django.conf import settings
from django.db import connections, transaction
from prometheus_client import Counter, Histogram

from coko.platform.observability import get_logger

from . import registry
from .delivery import Delivery, Run, delivery_message
from .models import OutboxState
from .tracing import RelayBatch

log = get_logger("coko.relay")

RELAYED = Counter("coko_relay_events_total", "Events handed to the broker", ["domain"])
UNROUTED = Counter("coko_relay_unrouted_total", "Events with no subscriber yet", ["domain"])
MESSAGES = Counter("coko_relay_messages_total", "Delivery messages enqueued", ["domain"])
FAILURES = Counter("coko_relay_failures_total", "Relay cycles that failed", ["domain", "reason"])
CYCLE = Histogram("coko_relay_cycle_seconds", "Duration of one relay cycle", ["domain"])

CHANNEL = "coko_outbox"
MAX_EVENTS_PER_MESSAGE = 100


def _json(value):
    """A JSON column as read through Django's connection (text) or psycopg's (parsed)."""
    return json.loads(value) if isinstance(value, str) else value


def _table(domain: str) -> str:
    return apps.get_model(domain, "OutboxEvent")._meta.db_table


@dataclass
class Relay:
    """Relays the outboxes of ``domains`` (all by default)."""

    domains: list[str] = field(default_factory=lambda: list(settings.COKO_DOMAINS))
    batch_size: int = field(default_factory=lambda: settings.COKO_EVENTS["RELAY_BATCH"])
    broker: dramatiq.Broker | None = None
    linger_s: float = field(default_factory=lambda: settings.COKO_EVENTS["RELAY_LINGER_MS"] / 1000)

    def __post_init__(self) -> None:
        self.broker = self.broker or dramatiq.get_broker()
        self._stop = threading.Event()
        self._listeners: dict[tuple, psycopg.Connection] = {}
        self._last_housekeeping = 0.0

    # --- one cycle -----------------------------------------------------------------
    def relay_domain(self, domain: str) -> int:
        """Relay one batch of ``domain``'s outbox; returns how many events were handled."""
        table = _table(domain)
        started_ns = time.time_ns()
        with CYCLE.labels(domain).time(), transaction.atomic(using=domain, durable=True):
            with connections[domain].cursor() as cursor:
                cursor.execute(
                    f'SELECT o.id FROM "{table}" o WHERE o.state = 0 AND NOT EXISTS ('
                    f'  SELECT 1 FROM "{table}" p WHERE p.state = 0'
                    f"  AND p.aggregate_id = o.aggregate_id AND p.id < o.id)"
                    f" ORDER BY o.id LIMIT %s FOR UPDATE SKIP LOCKED",
                    [self.batch_size],
                )
                heads = [row[0] for row in cursor.fetchall()]
                if not heads:
                    return 0
                cursor.execute(
                    f"SELECT id, event_id, type, version, occurred_at, aggregate_id, payload, trace_id,"
                    f' trace_context FROM "{table}" WHERE state = 0 AND aggregate_id IN ('
                    f'  SELECT aggregate_id FROM "{table}" WHERE id = ANY(%s))'
                    f" ORDER BY id LIMIT %s FOR UPDATE",
                    [heads, self.batch_size * 4],
                )
                rows = [(*row[:8], _json(row[8]) or {}) for row in cursor.fetchall()]
                events = [(str(row[1]), row[2], row[8]) for row in rows]
                with RelayBatch(domain=domain, events=events, started_ns=started_ns) as spans:
                    sent, unrouted = self._dispatch(domain, table, cursor, rows, spans)
                    self.after_dispatch(domain, sent)
                    if sent:
                        cursor.execute(
                            f'UPDATE "{table}" SET state = %s, sent_at = now() WHERE id = ANY(%s)',
                            [OutboxState.SENT, sent],
                        )
                    if unrouted:
                        cursor.execute(
                            f'UPDATE "{table}" SET state = %s WHERE id = ANY(%s)',
                            [OutboxState.UNROUTED, unrouted],
                        )
        RELAYED.labels(domain).inc(len(sent))
        UNROUTED.labels(domain).inc(len(unrouted))
        return len(rows)

    def after_dispatch(self, domain: str, ids: list[int]) -> None:
        """Hook between enqueueing and marking rows sent (the crash window tests aim at)."""

    def _dispatch(self, domain, table, cursor, rows, spans: RelayBatch) -> tuple[list[int], list[int]]:
        by_handler: dict[str, list[tuple]] = defaultdict(list)
        unrouted: list[int] = []
        for row in rows:
            subs = registry.subscriptions_for(row[2])
            if not subs:
                unrouted.append(row[0])
            for sub in subs:
                by_handler[sub.name].append(row)
        sent_ids = {row[0] for row in rows} - set(unrouted)
        messages = []  # (message, the id of its first event)
        for handler, handler_rows in by_handler.items():
            types = sorted(registry.subscription(handler).event_types)
            previous = self._previous_sent(table, cursor, handler_rows, types)
            runs: dict[str, list[tuple]] = defaultdict(list)  # aggregate -> its rows, in order
            for row in handler_rows:
                runs[row[5]].append(row)
            # Pack runs into messages of at most MAX_EVENTS_PER_MESSAGE events; a
            # longer run is cut, each piece naming the previous piece's last event.
            batch: list[Run] = []
            size = 0
            for aggregate_id, rows_ in runs.items():
                for start in range(0, len(rows_), MAX_EVENTS_PER_MESSAGE):
                    envelopes = [self._envelope(domain, row, spans)
                                 for row in rows_[start:start + MAX_EVENTS_PER_MESSAGE]]
                    if size + len(envelopes) > MAX_EVENTS_PER_MESSAGE and batch:
                        messages.append((delivery_message(Delivery(handler, batch)), batch[0].events[0]["id"]))
                        batch, size = [], 0
                    batch.append(Run(envelopes, previous.get(aggregate_id)))
                    previous[aggregate_id] = envelopes[-1]["id"]
                    size += len(envelopes)
            if batch:
                messages.append((delivery_message(Delivery(handler, batch)), batch[0].events[0]["id"]))
        for message, first_event in messages:
            with spans.sending(first_event):  # the message's trace (broker.MessageTracing)
                self.broker.enqueue(message)
        MESSAGES.labels(domain).inc(len(messages))
        return sorted(sent_ids), unrouted

    @staticmethod
    def _envelope(domain: str, row: tuple, spans: RelayBatch) -> dict:
        return {
            "id": str(row[1]),
            "type": row[2],
            "version": row[3],
            "occurred_at": row[4].isoformat(),
            "producer": domain,
            "aggregate_id": row[5],
            "payload": _json(row[6]),
            "trace_id": row[7],
            "trace_context": spans.trace_context(str(row[1]), row[8]),
        }

    @staticmethod
    def _previous_sent(table, cursor, rows, types) -> dict[str, str]:
        """For each aggregate's first row here: the last event of it this handler was sent."""
        first: dict[str, int] = {}
        for row in rows:
            first.setdefault(row[5], row[0])
        cursor.execute(
            f"SELECT h.aggregate_id, p.event_id FROM unnest(%s::bigint[], %s::text[])"
            f" AS h(id, aggregate_id) JOIN LATERAL ("
            f'  SELECT event_id FROM "{table}" q WHERE q.aggregate_id = h.aggregate_id'
            f"  AND q.id < h.id AND q.state = 1 AND q.type = ANY(%s)"
            f"  ORDER BY q.id DESC LIMIT 1) p ON true",
            [list(first.values()), list(first.keys()), types],
        )
        return {aggregate_id: str(event_id) for aggregate_id, event_id in cursor.fetchall()}

    def route_unrouted(self, domain: str) -> int:
        """Put back to pending the unrouted events whose type a handler now takes."""
        types = sorted(registry.subscribed_types())
        if not types:
            return 0
        with transaction.atomic(using=domain, durable=True):
            with connections[domain].cursor() as cursor:
                cursor.execute(
                    f'UPDATE "{_table(domain)}" SET state = 0 WHERE state = %s AND type = ANY(%s)',
                    [OutboxState.UNROUTED, types],
                )
                return cursor.rowcount

    def housekeeping(self) -> None:
        """Forget sent events and inbox entries past the retention window."""
        days = settings.COKO_EVENTS["RETENTION_DAYS"]
        for domain in self.domains:
            with transaction.atomic(using=domain, durable=True):
                with connections[domain].cursor() as cursor:
                    cursor.execute(
                        f'DELETE FROM "{_table(domain)}" WHERE state = 1'
                        f" AND sent_at < now() - make_interval(days => %s)", [days])
                    inbox = apps.get_model(domain, "InboxEntry")._meta.db_table
                    cursor.execute(
                        f'DELETE FROM "{inbox}" WHERE status = 0'
                        f" AND processed_at < now() - make_interval(days => %s)", [days * 2])

    def run_once(self) -> int:
        """One cycle over every domain until each outbox has no claimable row."""
        total = 0
        for domain in self.domains:
            while True:
                count = self.relay_domain(domain)
                total += count
                if count < self.batch_size:
                    break
        return total

    # --- the loop -------------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    def run_forever(self) -> None:
        """Relay until stopped: woken by NOTIFY, polling every RELAY_IDLE_S as a fallback."""
        idle = settings.COKO_EVENTS["RELAY_IDLE_S"]
        backoff = 0.0
        for domain in self.domains:
            self._safe(self.route_unrouted, domain)
        while not self._stop.is_set():
            try:
                worked = self.run_once()
                backoff = 0.0
            except Exception as exc:  # a database or broker outage: back off, keep going
                FAILURES.labels("*", type(exc).__name__).inc()
                backoff = min(5.0, max(0.5, backoff * 2))  # recover within seconds of the outage
                log.warning("relay cycle failed; retrying", error=str(exc), retry_in=backoff)
                self._close_all()
                self._stop.wait(backoff)
                continue
            if time.monotonic() - self._last_housekeeping > 600:
                self._last_housekeeping = time.monotonic()
                self._safe(self.housekeeping)
            if not worked:
                self._wait(idle)
        self._close_all()

    def _safe(self, func, *args) -> None:
        try:
            func(*args)
        except Exception as exc:  # noqa: BLE001
            log.warning("relay maintenance failed", task=func.__name__, error=str(exc))

    def _listen_connections(self) -> tuple[list[psycopg.Connection], bool]:
        """The LISTEN connections, and whether one was (re)opened just now."""
        opened = False
        for domain in self.domains:
            params = connections[domain].get_connection_params()
            key = tuple(sorted((k, str(v)) for k, v in params.items() if k != "options"))
            if key in self._listeners and not self._listeners[key].closed:
                continue
            try:
                conn = psycopg.connect(**params, autocommit=True)
                conn.execute(f"LISTEN {CHANNEL}")
                self._listeners[key] = conn
                opened = True
            except psycopg.Error as exc:
                log.warning("relay cannot LISTEN; polling", error=str(exc))
        return [c for c in self._listeners.values() if not c.closed], opened

    def _wait(self, timeout: float) -> None:
        """Sleep until an outbox NOTIFY (or ``timeout``), then linger a moment so
        that one cycle carries the events committed meanwhile (fewer, fuller
        batches under load, for a few milliseconds of latency)."""
        listeners, opened = self._listen_connections()
        if opened:
            # A NOTIFY sent before this LISTEN (at start-up, or after an outage closed
            # the listeners) is lost: look at the outbox once more before sleeping.
            return
        if not listeners:
            self._stop.wait(timeout)
            return
        try:
            ready, _, _ = select.select(listeners, [], [], timeout)
            for conn in ready:
                for _ in conn.notifies(timeout=0):
                    pass
        except (psycopg.Error, OSError, ValueError):
            self._close_listeners()
            return
        if ready and self.linger_s:
            self._stop.wait(self.linger_s)

    def _close_listeners(self) -> None:
        for conn in self._listeners.values():
            try:
                conn.close()
            except Exception:  # noqa: BLE001
                pass
        self._listeners.clear()

    def _close_all(self) -> None:
        self._close_listeners()
        for domain in self.domains:
            connections[domain].close()
