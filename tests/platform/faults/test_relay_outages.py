"""The relay survives an outage of the broker or of its producer's database, and
catches up when the server is back, losing nothing: every event committed during
the outage is handled exactly once, in order per aggregate.

Real relay and worker processes (``manage.py relay_outbox`` / ``run_worker``);
only the relay reaches the failing server through a ``FaultProxy``, the worker
and this process reach it directly.
"""

from __future__ import annotations

import pytest
from django.apps import apps

from coko.platform.events.models import OutboxState
from tests.platform.events.conftest import (
    PRODUCER,
    child_env,
    effect_ids,
    effects,
    publish_committed,
    queues_drained,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True, databases="__all__"), pytest.mark.live]

Outbox = apps.get_model(PRODUCER, "OutboxEvent")
OUTAGE_EVENTS = 50


def survive_and_catch_up(proxy, relay, processes, redis_client) -> None:
    """Warm up through the proxy, cut it, commit events, check they wait, restore, check all land."""
    warm_up = str(publish_committed(aggregate="warm-up", seq=0).id)
    wait_for(lambda: effect_ids() == [warm_up],
             message=lambda: f"effects {effects()} (warm-up {warm_up})\n{processes.logs()}")
    assert proxy.live_connections > 0  # the relay talks to the server through the proxy

    proxy.cut()
    events = [str(publish_committed(aggregate=f"outage-{n % 5}", seq=n // 5).id)
              for n in range(OUTAGE_EVENTS)]
    # It hits the outage, backs off and hits it again: it survived a failed cycle.
    wait_for(lambda: processes.log(relay).count("relay cycle failed") >= 2 or relay.poll() is not None,
             message=lambda: f"two failed relay cycles\n{processes.logs()}")
    assert relay.poll() is None, processes.logs()  # still running
    assert Outbox.objects.filter(event_id__in=events, state=OutboxState.PENDING).count() == OUTAGE_EVENTS
    assert effect_ids() == [warm_up]  # nothing got through meanwhile

    proxy.restore()
    wait_for(lambda: len(effects()) >= 1 + OUTAGE_EVENTS, timeout=30,
             message=lambda: f"{len(effects())} effects\n{processes.logs()}")
    wait_for(lambda: queues_drained(redis_client), message="every delivery consumed")
    assert relay.poll() is None
    rows = effects()
    assert sorted(row[0] for row in rows) == sorted([warm_up, *events])  # each effect exactly once
    for n in range(5):
        assert [row[3] for row in rows if row[2] == f"outage-{n}"] == list(range(OUTAGE_EVENTS // 5))
    assert Outbox.objects.filter(event_id__in=events, state=OutboxState.SENT).count() == OUTAGE_EVENTS


def test_the_relay_survives_a_broker_outage_and_catches_up_losing_nothing(
    start_relay, processes, worker, clean, redis_client, redis_proxy
):
    relay = start_relay(env={"REDIS_URL": redis_proxy.url})
    survive_and_catch_up(redis_proxy, relay, processes, redis_client)


def test_the_relay_survives_an_outage_of_its_producer_s_database_and_catches_up_losing_nothing(
    start_relay, processes, worker, clean, redis_client, postgres_proxy
):
    env = child_env(processes.state)
    key = next(k for k in (f"DATABASE_URL_{PRODUCER.upper()}", "DATABASE_URL") if k in env)
    relay = start_relay(env={key: postgres_proxy.url(env[key])})  # the relay's database only
    survive_and_catch_up(postgres_proxy, relay, processes, redis_client)

