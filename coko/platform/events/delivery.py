"""Delivery: dramatiq actors that apply events to a handler, each exactly once.

One actor per consumer domain (``deliver_<domain>`` on queue ``events.<domain>``),
so a domain extracted into its own pod consumes only its own queue.

A message carries, for one handler, *runs*: consecutive events of one aggregate,
each run naming the aggregate's previous event this handler was sent (``prev``).
The actor

1. holds back any run whose ``prev`` has not taken effect yet (it waits briefly,
   then puts those runs back on the queue with a delay), so the events of one
   aggregate take effect in order;
2. applies the other events in one transaction on the consumer's alias: insert
   ``(handler, event_id)`` into the consumer's inbox for all of them at once (a
   conflict means the effect already happened: a redelivery, skipped), then run
   the handler for each new one, in order. One commit per message, not per event.

If a handler raises, the message is applied again event by event, one
savepoint each, so that what came before the failing event is committed, and the rest of the message is sent again with exponential backoff.
After MAX_RETRIES retries the event is parked in the consumer's dead-letter
table and marked in its inbox, so its aggregate's later events go on. Staff
replay it from the admin console. A database or broker outage is not the
handler's fault: dramatiq retries the whole message until it passes (the inbox
skips what was applied).
"""

from __future__ import annotations

import json
import random
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import dramatiq
from django.apps import apps
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections, transaction
from django.utils import timezone

from coko.platform.context import request_id_var
from coko.platform.observability import get_logger
from coko.platform.services import handler_transaction

from . import registry
from .envelope import Event
from .models import InboxStatus
from .tracing import handler_span

log = get_logger("coko.events")

APPLIED, DUPLICATE, REPLAYED = "applied", "duplicate", "replayed"


@dataclass(frozen=True)
class Run:
    """Consecutive events of one aggregate, to apply after ``prev`` took effect."""

    events: list[dict[str, Any]]
    prev: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"events": self.events, "prev": self.prev}


@dataclass(frozen=True)
class Delivery:
    """What one message asks of one handler."""

    handler: str
    runs: list[Run]
    replay: bool = False
    waited_ms: int = 0
    failures: dict[str, int] = field(default_factory=dict)  # event id -> failed attempts


class _HandlerFailed(Exception):
    """An event's handler raised; its predecessors in the message are committed."""


def actor_name(domain: str) -> str:
    return f"deliver_{domain}"


def queue_name(domain: str) -> str:
    return f"events.{domain}"


def _tables(domain: str) -> tuple[str, str]:
    inbox = apps.get_model(domain, "InboxEntry")._meta.db_table
    dead = apps.get_model(domain, "DeadLetter")._meta.db_table
    return inbox, dead


def _subscription(handler: str) -> registry.Subscription:
    sub = registry.subscription(handler)
    if sub is None:
        raise LookupError(f"no handler named {handler!r} in this build")
    return sub


# --- ordering -----------------------------------------------------------------------------
def _applied(sub: registry.Subscription, event_ids: list[str]) -> set[str]:
    """Which of ``event_ids`` this handler has applied or parked."""
    if not event_ids:
        return set()
    inbox, _ = _tables(sub.domain)
    with connections[sub.domain].cursor() as cursor:
        cursor.execute(
            f'SELECT event_id::text FROM "{inbox}" WHERE handler = %s AND event_id = ANY(%s::uuid[])',
            [sub.name, event_ids],
        )
        return {row[0] for row in cursor.fetchall()}


def _split_ready(sub, runs: list[Run], *, wait_s: float) -> tuple[list[Run], list[Run]]:
    """Runs whose ``prev`` took effect, and those still waiting after ``wait_s``.

    The previous event is usually being applied by another thread right now, so
    a short wait here is far cheaper than a trip through the delay queue.
    """
    ready = [run for run in runs if run.prev is None]
    waiting = [run for run in runs if run.prev is not None]
    pause, deadline = 0.002, time.monotonic() + wait_s
    while waiting:
        done = _applied(sub, [run.prev for run in waiting])
        ready += [run for run in waiting if run.prev in done]
        waiting = [run for run in waiting if run.prev not in done]
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
    return ready, waiting


# --- applying ---------------------------------------------------------------------------------
def _apply_one(sub, cursor, inbox: str, dead: str, envelope: dict, *, replay: bool) -> str:
    event = Event.from_dict(envelope)
    cursor.execute(
        f'INSERT INTO "{inbox}" (handler, event_id, event_type, producer, status, processed_at)'
        f" VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (handler, event_id) DO NOTHING RETURNING id",
        [sub.name, event.id, event.type, event.producer, InboxStatus.DONE],
    )
    if cursor.fetchone() is None:
        if not replay:
            return DUPLICATE
        cursor.execute(
            f'UPDATE "{inbox}" SET status = %s, processed_at = now()'
            f" WHERE handler = %s AND event_id = %s AND status = %s RETURNING id",
            [InboxStatus.DONE, sub.name, event.id, InboxStatus.DEAD],
        )
        if cursor.fetchone() is None:
            return DUPLICATE
    _run_handler(sub, event)
    if replay:
        cursor.execute(
            f'UPDATE "{dead}" SET replayed_at = now() WHERE handler = %s AND event_id = %s',
            [sub.name, event.id],
        )
        return REPLAYED
    return APPLIED


def _run_handler(sub, event: Event) -> None:
    token = request_id_var.set(event.trace_id or None)
    try:
        with handler_span(handler=sub.name, event=event), handler_transaction(sub.domain):
            sub.func(event)  # the domain's use cases join this transaction
    finally:
        request_id_var.reset(token)


def _apply_all_at_once(sub, events: list[dict]) -> None:
    """The common case: one inbox insert for the whole message, then the handlers.

    Any handler failure rolls back everything, inbox rows included; the caller
    then goes event by event to find it.
    """
    inbox, _ = _tables(sub.domain)
    with transaction.atomic(using=sub.domain, durable=True):
        with connections[sub.domain].cursor() as cursor:
            cursor.execute(
                f'INSERT INTO "{inbox}" (handler, event_id, event_type, producer, status, processed_at)'
                f" SELECT %s, e.id, e.type, e.producer, %s, now()"
                f" FROM unnest(%s::uuid[], %s::text[], %s::text[]) AS e(id, type, producer)"
                f" ON CONFLICT (handler, event_id) DO NOTHING RETURNING event_id::text",
                [sub.name, InboxStatus.DONE, [e["id"] for e in events], [e["type"] for e in events],
                 [e["producer"] for e in events]],
            )
            new = {row[0] for row in cursor.fetchall()}
        for envelope in events:
            if envelope["id"] in new:
                _run_handler(sub, Event.from_dict(envelope))


def _apply_one_by_one(sub, events: list[dict], *, replay: bool) -> None:
    """One transaction, one savepoint per event: a failure keeps its predecessors."""
    inbox, dead = _tables(sub.domain)
    failed: tuple[int, str] | None = None
    with transaction.atomic(using=sub.domain, durable=True):
        with connections[sub.domain].cursor() as cursor:
            for index, envelope in enumerate(events):
                try:
                    with transaction.atomic(using=sub.domain):
                        _apply_one(sub, cursor, inbox, dead, envelope, replay=replay)
                except (OperationalError, InterfaceError):
                    raise  # the database, not the handler: dramatiq retries, nothing is parked
                except Exception:  # noqa: BLE001 - the handler's failure, rolled back to its savepoint
                    failed = (index, traceback.format_exc(limit=20))
                    break
    if failed is not None:
        raise _HandlerFailed(*failed)


def apply_events(*, handler: str, events: list[dict], replay: bool = False) -> None:
    """Apply ``events`` in order, each exactly once, in one durable transaction.

    If a handler raises, the events before it stay committed and
    ``_HandlerFailed`` carries the failing event's index and traceback.
    """
    sub = _subscription(handler)
    if not replay:
        try:
            _apply_all_at_once(sub, events)
            return
        except (OperationalError, InterfaceError):
            raise
        except Exception:  # noqa: BLE001 - some handler failed: find which, keep the others
            pass
    _apply_one_by_one(sub, events, replay=replay)


def park(*, handler: str, event: dict[str, Any], error: str, attempts: int) -> None:
    """Dead-letter the event for this handler and let the aggregate's next events go on."""
    sub = registry.subscription(handler)
    domain = sub.domain if sub else handler.split(".", 1)[0]
    inbox, dead = _tables(domain)
    with transaction.atomic(using=domain, durable=True):
        with connections[domain].cursor() as cursor:
            cursor.execute(
                f'INSERT INTO "{dead}" (handler, event_id, event_type, producer, envelope, error,'
                f" attempts, first_failed_at, last_failed_at)"
                f" VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s, now(), now())"
                f" ON CONFLICT (handler, event_id) DO UPDATE SET error = EXCLUDED.error,"
                f' attempts = "{dead}".attempts + EXCLUDED.attempts, last_failed_at = now(),'
                f" replayed_at = NULL",
                [handler, event["id"], event["type"], event["producer"], json.dumps(event),
                 error[-20000:], attempts],
            )
            cursor.execute(
                f'INSERT INTO "{inbox}" (handler, event_id, event_type, producer, status, processed_at)'
                f" VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (handler, event_id) DO NOTHING",
                [handler, event["id"], event["type"], event["producer"], InboxStatus.DEAD],
            )
    log.error("event dead-lettered", handler=handler, event_id=event["id"],
              event_type=event["type"], attempts=attempts)


# --- the actor ------------------------------------------------------------------------------
def _backoff_ms(attempts: int) -> int:
    config = settings.COKO_EVENTS
    base = min(config["MAX_BACKOFF_MS"], config["MIN_BACKOFF_MS"] * 2 ** (attempts - 1))
    return int(base * random.uniform(0.5, 1.0))


def _deliver(handler: str, runs: list[dict], replay: bool = False, waited_ms: int = 0,
             failures: dict[str, int] | None = None) -> None:
    """The body of every ``deliver_<domain>`` actor.

    Database and broker errors propagate (dramatiq retries the whole message,
    which is safe: the inbox skips what was applied). Handler failures are
    retried here, event by event, and parked after MAX_RETRIES retries.
    """
    config = settings.COKO_EVENTS
    sub = _subscription(handler)
    failures = dict(failures or {})
    broker = dramatiq.get_broker()
    runs_ = [Run(events=run["events"], prev=run.get("prev")) for run in runs]
    if replay or waited_ms >= config["ORDER_WAIT_MAX_S"] * 1000:
        if waited_ms and not replay:
            log.warning("event order wait expired; applying out of order", handler=handler)
        ready, waiting = runs_, []
    else:
        ready, waiting = _split_ready(sub, runs_, wait_s=1.0)
    if waiting:
        delay = min(1000, 20 * 2 ** min(waited_ms // 1000, 5))
        later = Delivery(handler, waiting, replay, waited_ms + 1000 + delay, failures)
        broker.enqueue(delivery_message(later), delay=delay)

    pending = [event for run in ready for event in run.events]
    while pending:
        try:
            apply_events(handler=handler, events=pending, replay=replay)
            break
        except _HandlerFailed as failure:
            index, error = failure.args
            event = pending[index]
            attempts = failures.get(event["id"], 0) + 1
            failures[event["id"]] = attempts
            if not replay and attempts <= config["MAX_RETRIES"]:
                log.warning("event handler failed; will retry", handler=handler,
                            event_id=event["id"], attempts=attempts)
                retry = Delivery(handler, [Run(pending[index:])], replay, waited_ms, failures)
                broker.enqueue(delivery_message(retry), delay=_backoff_ms(attempts))
                return
            park(handler=handler, event=event, error=error, attempts=attempts)
            pending = pending[index + 1:]


_actors: dict[str, dramatiq.Actor] = {}


def declare_actors() -> None:
    """One delivery actor per domain, bound to the current global broker."""
    config = settings.COKO_EVENTS
    for domain in settings.COKO_DOMAINS:
        _actors[domain] = dramatiq.actor(
            _deliver,
            actor_name=actor_name(domain),
            queue_name=queue_name(domain),
            # Handler failures are retried by _deliver itself; dramatiq's retries
            # cover outages (database, broker), for as long as they last, with a
            # back-off capped low enough that the outage's end is noticed soon.
            # (The worker checks its connections before each message:
            # coko.platform.db.connections.)
            max_retries=10_000,
            min_backoff=config["MIN_BACKOFF_MS"],
            max_backoff=min(config["MAX_BACKOFF_MS"], config["OUTAGE_MAX_BACKOFF_MS"]),
            time_limit=10 * 60 * 1000,
        )


def delivery_message(delivery: Delivery) -> dramatiq.Message:
    domain = _subscription(delivery.handler).domain
    return _actors[domain].message_with_options(
        kwargs={
            "handler": delivery.handler,
            "runs": [run.as_dict() for run in delivery.runs],
            "replay": delivery.replay,
            "waited_ms": delivery.waited_ms,
            "failures": delivery.failures,
        },
    )


def dead_letter_replay(*, domain: str, dead_letter_ids: list[int]) -> int:
    """Queue the given dead letters of ``domain`` for one more attempt each."""
    model = apps.get_model(domain, "DeadLetter")
    broker = dramatiq.get_broker()
    count = 0
    for letter in model.objects.filter(id__in=dead_letter_ids, replayed_at__isnull=True):
        broker.enqueue(delivery_message(Delivery(letter.handler, [Run([letter.envelope])], replay=True)))
        model.objects.filter(id=letter.id).update(replay_requested_at=timezone.now())
        count += 1
    return count
