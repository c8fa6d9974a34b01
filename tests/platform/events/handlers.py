"""Handlers the event tests subscribe in the analytics domain (loaded by the test
process and, through COKO_EXTRA_HANDLER_MODULES, by the worker and relay processes).

Their effect is a row in ``test_effect`` in the consumer's schema, written in the
delivery transaction: a duplicate effect would show as a second row.
"""

import random
import time

import dramatiq
from django.conf import settings
from django.db import connections

from coko.platform.events import Event, subscribe

CONSUMER = "analytics"
EFFECT_TABLE = "test_effect"
HEAL_KEY = "test-events:healed"


def _record(event: Event, handler: str) -> None:
    with connections[CONSUMER].cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {EFFECT_TABLE} (event_id, handler, aggregate_id, seq) VALUES (%s, %s, %s, %s)",
            [event.id, handler, event.aggregate_id, event.payload.get("seq", 0)],
        )


@subscribe("test.recorded", domain=CONSUMER, name="analytics.test_record")
def record(event: Event) -> None:
    jitter_ms = event.payload.get("jitter_ms", 0)
    if jitter_ms:
        time.sleep(random.uniform(0, jitter_ms) / 1000)
    time.sleep(event.payload.get("sleep_ms", 0) / 1000)
    _record(event, "analytics.test_record")


@subscribe("test.poison", domain=CONSUMER, name="analytics.test_poison")
def poison(event: Event) -> None:
    """Fails until the test heals it (a key in this worker's Redis key space)."""
    client = dramatiq.get_broker().client
    if not client.get(f"{settings.REDIS_NAMESPACE}:{HEAL_KEY}"):
        raise RuntimeError("poisoned handler refuses the event")
    _record(event, "analytics.test_poison")
