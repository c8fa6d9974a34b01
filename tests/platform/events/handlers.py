"""Handlers the event tests subscribe in the analytics domain (loaded by the test
process and, through COKO_EXTRA_HANDLER_MODULES, by the worker and relay processes).

Their effect is a row in ``test_effect`` in the consumer's schema, written in the
delivery transaction: a duplicate effect would show as a second row.
"""

import random
import time
from dataclasses import dataclass

import dramatiq
from django.conf import settings
from django.db import connections

from coko.platform.events import Event, EventPayload, declare, subscribe

CONSUMER = "analytics"
PRODUCER = "catalog"
EFFECT_TABLE = "test_effect"
HEAL_KEY = "test-events:healed"


@dataclass(frozen=True)
class Recorded(EventPayload):
    """``test.recorded``, ``test.poison`` and ``test.unheard`` (nobody subscribes to it)."""

    seq: int = 0
    jitter_ms: int = 0  # the handler waits up to this long (random, seeded by the event id), before its effect
    sleep_ms: int = 0  # and then this long


declare(producer=PRODUCER, events={"test.recorded": Recorded, "test.poison": Recorded, "test.unheard": Recorded})


def _record(event: Event, handler: str) -> None:
    with connections[CONSUMER].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EFFECT_TABLE} (event_id, handler, aggregate_id, seq) VALUES (%s, %s, %s, %s)",
            [event.id, handler, event.aggregate_id, event.payload_as(Recorded).seq],
        )


@subscribe("test.recorded", domain=CONSUMER, name="analytics.test_record")
def record(event: Event) -> None:
    payload = event.payload_as(Recorded)
    if payload.jitter_ms:  # seeded by the event: a run's waits are the same every time
        time.sleep(random.Random(event.id.int).uniform(0, payload.jitter_ms) / 1000)
    time.sleep(payload.sleep_ms / 1000)
    _record(event, "analytics.test_record")


@subscribe("test.poison", domain=CONSUMER, name="analytics.test_poison")
def poison(event: Event) -> None:
    """Fails until the test heals it (a key in this worker's Redis key space)."""
    client = dramatiq.get_broker().client
    if not client.get(f"{settings.REDIS_NAMESPACE}:{HEAL_KEY}"):
        raise RuntimeError("poisoned handler refuses the event")
    _record(event, "analytics.test_poison")
