"""Delivery: dramatiq actors that apply an event to one handler, exactly once.

One actor per consumer domain (``deliver_<domain>`` on queue ``events.<domain>``),
so a domain extracted into its own pod consumes only its own queue.

For each message the actor, in one transaction on the consumer's alias:

1. inserts ``(handler, event_id)`` into the consumer's inbox; a conflict means
   the effect already happened (a redelivery) and the message is dropped;
2. checks that the previous event of the same aggregate for this handler (named
   by the relay) is already in the inbox; if not, the message is put back with a
   short delay, so events of one aggregate take effect in order;
3. runs the handler.

A handler that raises is retried by dramatiq with exponential backoff; after the
last retry the event is parked in the consumer's dead-letter table (and marked
in its inbox, so the aggregate's later events go on). Staff replay it.
"""

from __future__ import annotations

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
    handler: str
    event: dict[str, Any]
    prev_event_id: str | None = None
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


def apply_delivery(delivery: Delivery, *, ignore_order: bool = False) -> str:
    """Apply one (handler, event) in one durable transaction. Raises what the handler raises."""
    sub = registry.subscription(delivery.handler)
    if sub is None:
        raise LookupError(f"no handler named {delivery.handler!r} in this build")
    event = Event.from_dict(delivery.event)
    inbox, _ = _tables(sub.domain)
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
                    if not delivery.replay:
                        return DUPLICATE
                    cursor.execute(
                        f'UPDATE "{inbox}" SET status = %s, processed_at = now()'
                        f" WHERE handler = %s AND event_id = %s AND status = %s RETURNING id",
                        [InboxStatus.DONE, sub.name, event.id, InboxStatus.DEAD],
                    )
                    if cursor.fetchone() is None:
                        return DUPLICATE
                elif delivery.prev_event_id and not ignore_order and not delivery.replay:
                    cursor.execute(
                        f'SELECT 1 FROM "{inbox}" WHERE handler = %s AND event_id = %s',
                        [sub.name, delivery.prev_event_id],
                    )
                    if cursor.fetchone() is None:
                        raise _NotYet
            sub.func(event)
        return REPLAYED if delivery.replay else APPLIED
    finally:
        request_id_var.reset(token)


def park(delivery: Delivery, *, error: str, attempts: int) -> None:
    """Dead-letter the event for this handler and let the aggregate's next events go on."""
    sub = registry.subscription(delivery.handler)
    domain = sub.domain if sub else delivery.handler.split(".", 1)[0]
    event = delivery.event
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
                [delivery.handler, event["id"], event["type"], event["producer"],
                 _json(event), error[-20000:], attempts],
            )
            cursor.execute(
                f'INSERT INTO "{inbox}" (handler, event_id, event_type, producer, status, processed_at)'
                f" VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (handler, event_id) DO NOTHING",
                [delivery.handler, event["id"], event["type"], event["producer"], InboxStatus.DEAD],
            )


def _mark_replayed(domain: str, handler: str, event_id: str) -> None:
    _, dead = _tables(domain)
    with transaction.atomic(using=domain, durable=True):
        with connections[domain].cursor() as cursor:
            cursor.execute(
                f'UPDATE "{dead}" SET replayed_at = now() WHERE handler = %s AND event_id = %s',
                [handler, event_id],
            )


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def _deliver(handler: str, event: dict, prev_event_id: str | None = None,
             replay: bool = False, waited_ms: int = 0) -> str:
    """The body of every ``deliver_<domain>`` actor."""
    config = settings.COKO_EVENTS
    delivery = Delivery(handler, event, prev_event_id, replay, waited_ms)
    ignore_order = waited_ms >= config["ORDER_WAIT_MAX_S"] * 1000
    if ignore_order:
        log.warning("event order wait expired; applying out of order", handler=handler,
                    event_id=event["id"], prev_event_id=prev_event_id)
    try:
        outcome = apply_delivery(delivery, ignore_order=ignore_order)
    except _NotYet:
        delay = min(1000, 10 * 2 ** min(waited_ms // 200, 7)) if waited_ms else 10
        _send(delivery, waited_ms=waited_ms + delay, delay=delay)
        return WAITING
    except Exception:
        message = CurrentMessage.get_current_message()
        retries = message.options.get("retries", 0) if message else 0
        if replay or retries >= config["MAX_RETRIES"]:
            park(delivery, error=traceback.format_exc(limit=20), attempts=retries + 1)
            log.error("event dead-lettered", handler=handler, event_id=event["id"],
                      event_type=event["type"], attempts=retries + 1)
            return PARKED
        raise  # dramatiq retries with exponential backoff
    if outcome == REPLAYED:
        sub = registry.subscription(handler)
        _mark_replayed(sub.domain, handler, event["id"])
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
            max_retries=config["MAX_RETRIES"] + 1,  # the last failure parks instead of raising
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
            "event": delivery.event,
            "prev_event_id": delivery.prev_event_id,
            "replay": delivery.replay,
            "waited_ms": delivery.waited_ms,
        },
    )


def _send(delivery: Delivery, *, waited_ms: int, delay: int) -> None:
    again = Delivery(delivery.handler, delivery.event, delivery.prev_event_id,
                     delivery.replay, waited_ms)
    dramatiq.get_broker().enqueue(delivery_message(again), delay=delay)


def dead_letter_replay(*, domain: str, dead_letter_ids: list[int]) -> int:
    """Queue the given dead letters of ``domain`` for one more attempt each."""
    model = apps.get_model(domain, "DeadLetter")
    broker = dramatiq.get_broker()
    count = 0
    for letter in model.objects.filter(id__in=dead_letter_ids, replayed_at__isnull=True):
        broker.enqueue(delivery_message(Delivery(letter.handler, letter.envelope, replay=True)))
        model.objects.filter(id=letter.id).update(replay_requested_at=timezone.now())
        count += 1
    return count
