"""Events are typed contracts, checked at both ends.

* every ``@subscribe`` takes only types some producer declares;
* every declared payload survives the trip through JSON (what the outbox, Redis and
  the dead letters carry) and comes back equal;
* ``publish()`` refuses what its producer did not declare, and writes nothing;
* a payload can change version: a consumer on v2 reads a v1 event upcast to the v2
  shape, through the real delivery path, and a newer (v3) event is refused and parked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.db import transaction

import coko.devtools.bench.handlers  # noqa: F401 — the benchmark's handler and declaration
from coko.devtools.testing.events import deliver_pending, last_event
from coko.devtools.testing.payloads import UnsupportedAnnotation, sample_payload
from coko.platform.contracts import EventPayload, PayloadVersionError
from coko.platform.events import UndeclaredEvent, catalog, delivery, publish, registry
from coko.platform.events.declared import all_declared, declare, declared, payload_dump, payload_load, undeclare
from coko.platform.events.models import InboxStatus

from . import handlers  # noqa: F401 — the test handlers and their declarations

PRODUCER, CONSUMER = "catalog", "analytics"
Outbox = apps.get_model(PRODUCER, "OutboxEvent")


# --- (a) every subscription is to a declared type ------------------------------------------------
def test_every_subscription_is_to_a_type_some_domain_declares():
    subscriptions = registry.all_subscriptions()
    assert {"notifications.welcome_new_user", "analytics.test_record", "analytics.bench_record"} <= {
        s.name for s in subscriptions}  # domains, tests and the benchmark are all loaded
    assert catalog.undeclared_subscriptions() == [], "\n".join(map(str, catalog.undeclared_subscriptions()))


def test_a_subscription_to_an_undeclared_type_is_reported():
    @registry.subscribe("test.nobody_declares", domain=CONSUMER, name="analytics.test_deaf")
    def deaf(event):  # pragma: no cover - never delivered
        pass

    try:
        assert [(u.handler, u.type) for u in catalog.undeclared_subscriptions()] == [
            ("analytics.test_deaf", "test.nobody_declares")]
    finally:
        registry.unsubscribe("analytics.test_deaf")


# --- (b) every declared payload round-trips through JSON ------------------------------------------
DECLARED = all_declared()


def test_the_domains_declare_their_events():
    types = {d.type: d.producer for d in DECLARED}
    assert types["user.registered"] == "accounts"
    assert types["book.published"] == "catalog"


@pytest.mark.parametrize("seed", [0, 1], ids=["values", "nones"])
@pytest.mark.parametrize("spec", DECLARED, ids=[d.type for d in DECLARED])
def test_every_declared_payload_round_trips_through_json(spec, seed):
    payload = sample_payload(spec.payload, seed=seed)
    wire = json.loads(json.dumps(payload_dump(payload)))
    assert payload_load(spec.payload, wire, version=spec.version) == payload


@dataclass(frozen=True)
class Untyped(EventPayload):
    data: object


def test_the_sample_generator_refuses_an_annotation_it_does_not_know():
    with pytest.raises(UnsupportedAnnotation, match=r"Untyped\.data"):
        sample_payload(Untyped)


# --- (c) publish() refuses what was not declared ------------------------------------------------------
@pytest.mark.django_db(databases=[PRODUCER])
def test_publish_refuses_an_undeclared_type_another_producer_s_type_and_the_wrong_payload_class():
    before = Outbox.objects.count()
    user_registered = declared("user.registered")
    with transaction.atomic(using=PRODUCER):
        with pytest.raises(UndeclaredEvent, match="has not declared 'test.nobody_declares'"):
            publish(producer=PRODUCER, type="test.nobody_declares", aggregate_id="x",
                    payload=handlers.Recorded())
        with pytest.raises(UndeclaredEvent, match="'catalog' has not declared 'user.registered'"):
            publish(producer=PRODUCER, type="user.registered", aggregate_id="x",
                    payload=sample_payload(user_registered.payload))
        with pytest.raises(TypeError, match="carries a Recorded, not Pinged"):
            publish(producer=PRODUCER, type="test.recorded", aggregate_id="x",
                    payload=coko.devtools.bench.handlers.Pinged(n=1))
        with pytest.raises(TypeError):
            publish(producer=PRODUCER, type="test.recorded", aggregate_id="x", payload={"seq": 1})
    assert Outbox.objects.count() == before


# --- (d) a payload changes version --------------------------------------------------------------------
VERSIONED = "test.versioned"


@dataclass(frozen=True)
class NotedV1(EventPayload):
    """``test.versioned`` as first written."""

    VERSION = 1
    title: str
    pages: int


@dataclass(frozen=True)
class Noted(EventPayload):
    """``test.versioned`` v2: ``title`` renamed ``name``; ``long`` added, derived from ``pages``."""

    VERSION = 2
    name: str
    pages: int
    long: bool

    @classmethod
    def upcast(cls, data, *, version):
        if version == 1:
            data = {"name": data.pop("title"), "pages": data["pages"], "long": data["pages"] > 300}
        return data


@pytest.fixture
def versioned():
    """A test-only type and a consumer on v2 that keeps what it read."""
    received: list[tuple[int, Noted]] = []

    @registry.subscribe(VERSIONED, domain=CONSUMER, name="analytics.test_versioned")
    def on_noted(event):
        received.append((event.version, event.payload_as(Noted)))

    yield received
    registry.unsubscribe("analytics.test_versioned")
    undeclare(VERSIONED)


def _publish(payload) -> None:
    with transaction.atomic(using=PRODUCER):
        publish(producer=PRODUCER, type=VERSIONED, aggregate_id="book-1", payload=payload)


@pytest.mark.django_db(databases=[PRODUCER, CONSUMER])
def test_a_consumer_on_v2_reads_v1_and_v2_events_in_the_v2_shape(versioned):
    declare(producer=PRODUCER, events={VERSIONED: NotedV1})  # the producer before its deploy
    _publish(NotedV1(title="Une si longue lettre", pages=320))
    assert last_event(PRODUCER, VERSIONED).version == 1
    declare(producer=PRODUCER, events={VERSIONED: Noted})  # and after it
    _publish(Noted(name="L'Aventure ambiguë", pages=190, long=False))

    assert deliver_pending(producer=PRODUCER, handler="analytics.test_versioned") == 2
    assert versioned == [
        (1, Noted(name="Une si longue lettre", pages=320, long=True)),
        (2, Noted(name="L'Aventure ambiguë", pages=190, long=False)),
    ]
    with pytest.raises(TypeError, match="carries a Noted, not a NotedV1"):
        last_event(PRODUCER, VERSIONED).payload_as(NotedV1)


@pytest.mark.django_db(databases=[PRODUCER, CONSUMER])
def test_a_payload_newer_than_the_consumer_knows_is_refused_and_parked(versioned, settings):
    declare(producer=PRODUCER, events={VERSIONED: Noted})
    _publish(Noted(name="Sous l'orage", pages=120, long=False))
    envelope = {**last_event(PRODUCER, VERSIONED).to_dict(), "version": 3}  # from a producer a deploy ahead
    with pytest.raises(PayloadVersionError, match="v3 payload is newer than Noted v2"):
        payload_load(Noted, envelope["payload"], version=3)

    # The worker's last attempt (no retries left): the handler's failure parks the event.
    settings.COKO_EVENTS = {**settings.COKO_EVENTS, "MAX_RETRIES": 0}
    delivery._deliver("analytics.test_versioned", [{"events": [envelope], "prev": None}])
    assert versioned == []
    letter = apps.get_model(CONSUMER, "DeadLetter").objects.get(event_id=envelope["id"])
    assert letter.handler == "analytics.test_versioned" and letter.attempts == 1
    assert "PayloadVersionError" in letter.error and letter.envelope["version"] == 3
    inbox = apps.get_model(CONSUMER, "InboxEntry").objects.get(event_id=envelope["id"])
    assert inbox.status == InboxStatus.DEAD
