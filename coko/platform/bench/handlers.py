"""The benchmark's handler: records when each event took effect, in the delivery transaction."""

from django.db import connections

from coko.platform.events import Event, subscribe

CONSUMER = "analytics"


@subscribe("bench.pinged", domain=CONSUMER, name="analytics.bench_record")
def record(event: Event) -> None:
    with connections[CONSUMER].cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_effect (event_id, occurred_at) VALUES (%s, %s)",
            [event.id, event.occurred_at],
        )
