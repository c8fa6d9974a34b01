"""The benchmark's handler: records when each event took effect, in the delivery transaction."""

from dataclasses import dataclass

from django.db import connections

from coko.platform.events import Event, EventPayload, declare, subscribe

CONSUMER = "analytics"
PRODUCER = "catalog"


@dataclass(frozen=True)
class Pinged(EventPayload):
    """``bench.pinged``: the n-th event of the run."""

    n: int


declare(producer=PRODUCER, events={"bench.pinged": Pinged})


@subscribe("bench.pinged", domain=CONSUMER, name="analytics.bench_record")
def record(event: Event) -> None:
    with connections[CONSUMER].cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_effect (event_id, occurred_at) VALUES (%s, %s)",
            [event.id, event.occurred_at],
        )
