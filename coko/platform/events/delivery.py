"""Delivery: dramatiq actors that apply an event to one handler, exactly once.

One actor per consumer domain (``deliver_<domain>`` on queue ``events.<domain>``),
so a domain extracted into its own pod consumes only its own queue.

A message carries consecutive events of one aggregate for one handler. For
each event, in order, the actor runs one transaction on the consumer's alias that

1. inserts ``(handler, event_id)`` into the consumer's inbox; a conflict means
   the effect already happened (a redelivery) and the event is skipped;
2. checks that the previous event of the aggregate for this handler (named by
   the relay for the first event of the message) is already in the inbox; if
   not, it waits briefly, then puts the rest of the message back with a delay,
   so events of one aggregate take effect in order;
3. runs the handler.

A handler that raises is retried by dramatiq with exponential backoff (events
already applied are skipped by the inbox); after MAX_RETRIES retries the event
is parked in the consumer's dead-letter table and marked in its inbox, so the
aggregate's later events go on. Staff replay it from the admin console.
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any

import dramatiq
from django.apps import apps
from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone
from dramatiq.middleware import CurrentMessage

from coko.platform.context import request_id_var
from coko.platform.observability import get_logger

from . import registry
from .envelope import Event
from .models import InboxStatus

log = get_logger("coko.events")

# Outcomes of one delivery attempt.
APPLIED = "applied"
DUPLICATE = "duplicate"
WAITING = "waiting"  # an earlier event of the aggregate is not applied yet
PARKED = "parked"  # dead-lettered
REPLAYED = "replayed"


class _NotYet(Exception):
    """The previous event of this aggregate has not taken effect yet."""


@dataclass(frozen=True)
class Delivery:
    """Consecutive events of one aggregate for one handler, applied in order."""

    handler: str
    events: list[dict[str, Any]]
    prev_event_id: str | None = None  # the aggregate's event this handler must have applied first
    replay: bool = False
    waited_ms: int = 0


def _tables(domain: str) -> tuple[str, str]:
    inbox = apps.get_model(domain, "InboxEntry")._meta.db_table
    dead = apps.get_model(domain, "DeadLetter")._meta.db_table
    return inbox, dead


def actor_name(domain: str) -> str:
    return f"deliver_{domain}"


def queue_name(domain: str) -> str:
    return f"events.{domain}"


def apply_event(*, handler: str, envelope: dict[str, Any], prev_event_id: str | None,
                replay: bool = False) -> str:
    """Apply one event to one handler in one durable transaction.

    Raises ``_NotYet`` when ``prev_event_id`` has not taken effect, and whatever
    the handler raises (the transaction, inbox row included, is rolled back).
    """
    sub = registry.subscription(handler)
    if sub is None:
        raise LookupError(f"no handler named {handler!r} in this build")
    event = Event.from_dict(envelope)
    inbox, dead = _tables(sub.domain)
    token = request_id_var.set(event.trace_id or None)
    try:
        with transaction.atomic(using=sub.domain, durable=True):
            with connections[sub.domain].cursor() as cursor:
                cursor.execute(
                    f'INSERT INTO "{inbox}" (handler, event_id, event_type, producer, status,'
                    f" processed_at) VALUES (%s, %s, %s, %s, %s, now())"
                    f" ON CONFLICT (handler, event_id) DO NOTHING RETURNING id",
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
                elif prev_event_id and not replay:
                    cursor.execute(
                        f'SELECT 1 FROM "{inbox}" WHERE handler = %s AND event_id = %s',
                        [sub.name, prev_event_id],
                    )
                    if cursor.fetchone() is None:
                        raise _NotYet
            sub.func(event)
            if replay:
                with connections[sub.domain].cursor() as cursor:
                    cursor.execute(
                        f'UPDATE "{dead}" SET replayed_at = now() WHERE handler = %s AND event_id = %s',
                        [sub.name, event.id],
                    )
        return REPLAYED if replay else APPLIED
    finally:
        request_id_var.reset(token)


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
                [handler, event["id"], event["type"], event["producer"],
                 _json(event), error[-20000:], attempts],
            )
            cursor.execute(
                f'INSERT INTO "{inbox}" (handler, event_id, event_type, producer, status, processed_at)'
                f" VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (handler, event_id) DO NOTHING",
                [handler, event["id"], event["type"], event["producer"], InboxStatus.DEAD],
            )


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def _wait_in_thread(handler: str, envelope: dict, prev_event_id: str, budget_s: float) -> str:
    """The previous event is usually being applied by another thread right now:
    wait for it briefly here before putting the message back on the queue."""
    pause = 0.002
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline:
        time.sleep(pause)
        pause = min(pause * 2, 0.05)
        try:
            return apply_event(handler=handler, envelope=envelope, prev_event_id=prev_event_id)
        except _NotYet:
            continue
    raise _NotYet


def _deliver(handler: str, events: list[dict], prev_event_id: str | None = None,
             replay: bool = False, waited_ms: int = 0) -> str:
    """The body of every ``deliver_<domain>`` actor: apply ``events`` in order."""
    config = settings.COKO_EVENTS
    message = CurrentMessage.get_current_message()
    failures: dict[str, int] = message.options.setdefault("coko_failures", {}) if message else {}
    outcome = DUPLICATE
    prev = prev_event_id
    for index, envelope in enumerate(events):
        if waited_ms >= config["ORDER_WAIT_MAX_S"] * 1000 and prev:
            log.warning("event order wait expired; applying out of order", handler=handler,
                        event_id=envelope["id"], prev_event_id=prev)
            prev = None
        try:
            try:
                outcome = apply_event(handler=handler, envelope=envelope, prev_event_id=prev,
                                      replay=replay)
            except _NotYet:
                outcome = _wait_in_thread(handler, envelope, prev, budget_s=1.0)
        except _NotYet:
            delay = min(1000, 20 * 2 ** min(waited_ms // 500, 5))
            remaining = Delivery(handler, events[index:], prev, replay, waited_ms + 1000 + delay)
            dramatiq.get_broker().enqueue(delivery_message(remaining), delay=delay)
            return WAITING
        except Exception:
            attempts = failures.get(envelope["id"], 0) + 1
            failures[envelope["id"]] = attempts
            if replay or attempts > config["MAX_RETRIES"]:
                park(handler=handler, event=envelope, error=traceback.format_exc(limit=20),
                     attempts=attempts)
                log.error("event dead-lettered", handler=handler, event_id=envelope["id"],
                          event_type=envelope["type"], attempts=attempts)
                outcome = PARKED
            else:
                raise  # dramatiq retries the message with exponential backoff
        prev = envelope["id"]
    return outcome


_actors: dict[str, dramatiq.Actor] = {}


def declare_actors() -> None:
    """One delivery actor per domain, bound to the current global broker."""
    config = settings.COKO_EVENTS
    for domain in settings.COKO_DOMAINS:
        _actors[domain] = dramatiq.actor(
            _deliver,
            actor_name=actor_name(domain),
            queue_name=queue_name(domain),
            # Each event of a message fails at most MAX_RETRIES + 1 times, then is
            # parked; dramatiq's own cap is only a safety net.
            max_retries=10_000,
            min_backoff=config["MIN_BACKOFF_MS"],
            max_backoff=config["MAX_BACKOFF_MS"],
            time_limit=10 * 60 * 1000,
        )


def delivery_message(delivery: Delivery) -> dramatiq.Message:
    sub = registry.subscription(delivery.handler)
    domain = sub.domain if sub else delivery.handler.split(".", 1)[0]
    return _actors[domain].message_with_options(
        kwargs={
            "handler": delivery.handler,
            "events": delivery.events,
            "prev_event_id": delivery.prev_event_id,
            "replay": delivery.replay,
            "waited_ms": delivery.waited_ms,
        },
    )


def dead_letter_replay(*, domain: str, dead_letter_ids: list[int]) -> int:
    """Queue the given dead letters of ``domain`` for one more attempt each."""
    model = apps.get_model(domain, "DeadLetter")
    broker = dramatiq.get_broker()
    count = 0
    for letter in model.objects.filter(id__in=dead_letter_ids, replayed_at__isnull=True):
        broker.enqueue(delivery_message(Delivery(letter.handler, [letter.envelope], replay=True)))
        model.objects.filter(id=letter.id).update(replay_requested_at=timezone.now())
        count += 1
    return count
