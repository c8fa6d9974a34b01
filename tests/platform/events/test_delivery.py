"""Events travel outbox → relay → dramatiq → inbox, against real PostgreSQL, Redis,
relay and worker processes; every effect happens once, in order per aggregate."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.apps import apps
from django.db import connections, transaction
from django.db.models import Count

from coko.platform.events import PublishOutsideTransaction, publish
from coko.platform.events.delivery import dead_letter_replay
from coko.platform.events.models import InboxStatus, OutboxState

from .conftest import (
    PRODUCER,
    effect_ids,
    effects,
    publish_committed,
    queues_drained,
    wait_for,
)
from .handlers import CONSUMER, HEAL_KEY, Recorded

pytestmark = [pytest.mark.django_db(transaction=True, databases="__all__"), pytest.mark.live]

Outbox = apps.get_model(PRODUCER, "OutboxEvent")
Inbox = apps.get_model(CONSUMER, "InboxEntry")
DeadLetter = apps.get_model(CONSUMER, "DeadLetter")


def test_publish_refuses_to_run_outside_a_transaction():
    with pytest.raises(PublishOutsideTransaction):
        publish(producer=PRODUCER, type="test.recorded", aggregate_id="x", payload=Recorded())


def test_a_committed_event_is_delivered_and_a_rolled_back_one_never_is(start_relay, worker, clean):
    start_relay()
    rolled_back_id = None
    with pytest.raises(RuntimeError):
        with transaction.atomic(using=PRODUCER):
            rolled_back_id = str(publish(producer=PRODUCER, type="test.recorded",
                                         aggregate_id="rb", payload=Recorded(seq=1)).id)
            raise RuntimeError("the use case fails after publishing")
    committed = str(publish_committed(aggregate="rb", seq=2).id)

    wait_for(lambda: committed in effect_ids(), message="committed event handled")
    assert rolled_back_id not in effect_ids()
    assert not Outbox.objects.filter(event_id=rolled_back_id).exists()
    assert Outbox.objects.get(event_id=committed).state == OutboxState.SENT
    assert Inbox.objects.filter(event_id=committed, handler="analytics.test_record").count() == 1


def test_a_relay_killed_between_sending_and_marking_redelivers_and_the_effect_happens_once(
    processes, worker, clean, redis_client
):
    events = [str(publish_committed(aggregate=f"crash-{i}", seq=i).id) for i in range(5)]

    crashed = processes.script(
        "import os\n"
        "from coko.platform.events.relay import Relay\n"
        "class Dies(Relay):\n"
        "    def after_dispatch(self, domain, ids):\n"
        "        os._exit(9)  # killed after enqueueing, before marking sent\n"
        "Dies(domains=['catalog']).relay_domain('catalog')\n"
    )
    assert crashed.returncode == 9, crashed.stderr
    # The dying relay's messages were delivered, yet its rows are still pending.
    wait_for(lambda: sorted(effect_ids()) == sorted(events), message="first delivery")
    assert Outbox.objects.filter(event_id__in=events, state=OutboxState.PENDING).count() == 5

    rerun = processes.script(
        "from coko.platform.events.relay import Relay\n"
        "print(Relay(domains=['catalog']).run_once())\n"
    )
    assert rerun.returncode == 0, rerun.stderr
    assert rerun.stdout.strip() == "5"  # sent again
    assert Outbox.objects.filter(event_id__in=events, state=OutboxState.SENT).count() == 5
    wait_for(lambda: queues_drained(redis_client), message="redeliveries consumed")
    assert sorted(effect_ids()) == sorted(events)  # each effect once


def test_two_relays_at_once_deliver_every_event_once_and_in_order(start_relay, worker, clean):
    start_relay()
    start_relay()
    aggregates = [f"pair-{n}" for n in range(10)]
    published: list[str] = []
    lock = threading.Lock()

    def producer(aggregate_slice):
        for seq in range(40):
            for aggregate in aggregate_slice:
                event = publish_committed(aggregate=aggregate, seq=seq)
                with lock:
                    published.append(str(event.id))
        for alias in connections:
            connections[alias].close()

    threads = [threading.Thread(target=producer, args=(aggregates[i::2],)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    wait_for(lambda: len(effects()) >= len(published), timeout=60,
             message=lambda: f"all handled: {len(effects())}/{len(published)}, outbox "
             f"{list(Outbox.objects.values_list('state').annotate(n=Count('id')))}, worker alive "
             f"{worker.poll() is None}")
    rows = effects()
    assert sorted(row[0] for row in rows) == sorted(published)  # every event, once
    for aggregate in aggregates:
        seqs = [row[3] for row in rows if row[2] == aggregate]
        assert seqs == list(range(40)), f"{aggregate} handled out of order: {seqs}"


def test_events_of_one_aggregate_are_handled_in_order_despite_concurrent_threads(worker, clean):
    from coko.platform.events.relay import Relay

    # One event per relay cycle (so each travels in its own message: the cycle is
    # driven here, after each commit), and every tenth event slow to handle: a
    # 4-thread worker would finish its successors first if nothing kept the
    # aggregate's order.
    relay = Relay(domains=[PRODUCER])
    for seq in range(40):
        publish_committed(aggregate="ordered", seq=seq, sleep_ms=200 if seq % 10 == 0 else 0)
        assert relay.relay_domain(PRODUCER) == 1
    publish_committed(aggregate="other", seq=0)
    assert relay.relay_domain(PRODUCER) == 1

    wait_for(lambda: len(effects(where="aggregate_id = 'ordered'")) == 40, timeout=60)
    assert [row[3] for row in effects(where="aggregate_id = 'ordered'")] == list(range(40))


def test_a_handler_that_always_fails_is_dead_lettered_after_its_retries_and_can_be_replayed(
    start_relay, worker, clean, redis_client, settings
):
    start_relay()
    event = publish_committed("test.poison", aggregate="poison", seq=1)
    follower = publish_committed(aggregate="poison", seq=2)

    letter = wait_for(lambda: DeadLetter.objects.filter(event_id=event.id).first(), timeout=30,
                      message="dead letter")
    assert letter.handler == "analytics.test_poison"
    assert letter.attempts == settings.COKO_EVENTS["MAX_RETRIES"] + 1
    assert "poisoned handler refuses the event" in letter.error
    assert letter.envelope["type"] == "test.poison"
    assert Inbox.objects.get(event_id=event.id).status == InboxStatus.DEAD
    # The aggregate's next event is not held back by the parked one.
    wait_for(lambda: str(follower.id) in effect_ids(), message="follower handled")
    assert str(event.id) not in effect_ids()

    redis_client.set(f"{settings.REDIS_NAMESPACE}:{HEAL_KEY}", "1")
    assert dead_letter_replay(domain=CONSUMER, dead_letter_ids=[letter.id]) == 1
    wait_for(lambda: str(event.id) in effect_ids(), message="replayed event handled")
    letter.refresh_from_db()
    assert letter.replayed_at is not None
    assert Inbox.objects.get(event_id=event.id).status == InboxStatus.DONE
    # Replaying again changes nothing: the effect stays single.
    assert dead_letter_replay(domain=CONSUMER, dead_letter_ids=[letter.id]) == 0
    assert effect_ids().count(str(event.id)) == 1


def test_an_event_nobody_subscribes_to_waits_in_the_outbox_until_someone_does(worker, clean):
    from coko.platform.events import registry
    from coko.platform.events.relay import Relay

    event = publish_committed("test.unheard", aggregate="later", seq=7)
    relay = Relay(domains=[PRODUCER])
    relay.run_once()
    assert Outbox.objects.get(event_id=event.id).state == OutboxState.UNROUTED

    registry.subscribe("test.unheard", domain=CONSUMER, name="analytics.test_record")(
        registry.subscription("analytics.test_record").func
    )
    try:
        assert relay.route_unrouted(PRODUCER) == 1
        relay.run_once()
        assert Outbox.objects.get(event_id=event.id).state == OutboxState.SENT
    finally:
        registry.subscribe("test.recorded", domain=CONSUMER, name="analytics.test_record")(
            registry.subscription("analytics.test_record").func
        )


def test_an_event_carries_the_full_envelope(worker, clean):
    from coko.platform.context import request_id_var

    token = request_id_var.set("trace-abc-123")
    try:
        event = publish_committed(aggregate=str(uuid.uuid4()), seq=3)
    finally:
        request_id_var.reset(token)
    row = Outbox.objects.get(event_id=event.id)
    assert (row.type, row.version, row.aggregate_id, row.trace_id) == (
        "test.recorded", 1, event.aggregate_id, "trace-abc-123")
    assert row.payload == {"seq": 3, "jitter_ms": 0, "sleep_ms": 0}
    assert row.occurred_at == event.occurred_at
    assert event.producer == PRODUCER
