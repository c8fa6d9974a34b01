"""The services kit every domain uses: ``use_case`` (one durable transaction, joined by the
domain's own event handlers) and ``model_update`` (plain field updates, auto_now included)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.apps import apps
from django.db import connections, transaction
from django.utils import timezone

from coko.devtools.testing.events import deliver_pending
from coko.platform.events import Event, EventPayload, declare, publish, subscribe
from coko.platform.events import declared, registry
from coko.platform.services import model_update, use_case

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@dataclass(frozen=True)
class Noted(EventPayload):
    """``kit.noted`` (analytics) and ``kit.echoed`` (analytics again, published by the handler)."""

    text: str


@use_case("analytics")
def note_echo(*, text: str) -> str:
    """A use case of the analytics domain: writes its outbox (its state) in one transaction."""
    event = publish(producer="analytics", type="kit.echoed", aggregate_id="kit", payload=Noted(text=text))
    return str(event.id)


@pytest.fixture
def kit_events():
    declare(producer="analytics", events={"kit.noted": Noted, "kit.echoed": Noted})

    @subscribe("kit.noted", domain="analytics", name="analytics.kit_echo")
    def kit_echo(event: Event) -> None:
        note_echo(text=event.payload_as(Noted).text)

    yield
    registry.unsubscribe("analytics.kit_echo")
    declared.undeclare("kit.noted", "kit.echoed")


def outbox(type_: str) -> list:
    return list(apps.get_model("analytics", "OutboxEvent").objects.filter(type=type_).values_list("payload", flat=True))


def test_a_use_case_is_one_durable_transaction(kit_events):
    note_echo(text="alone")
    assert outbox("kit.echoed") == [{"text": "alone"}]
    with transaction.atomic(using="analytics"), pytest.raises(RuntimeError, match="durable"):
        note_echo(text="nested in a caller's transaction")


def test_a_handler_of_the_domain_runs_its_use_case_inside_the_delivery_transaction(kit_events):
    with transaction.atomic(using="analytics"):
        publish(producer="analytics", type="kit.noted", aggregate_id="kit", payload=Noted(text="hello"))
    assert deliver_pending(producer="analytics", handler="analytics.kit_echo") == 1
    assert outbox("kit.echoed") == [{"text": "hello"}]
    assert deliver_pending(producer="analytics", handler="analytics.kit_echo") == 0  # once
    assert outbox("kit.echoed") == [{"text": "hello"}]


def test_the_handler_s_effect_and_its_inbox_row_roll_back_together(kit_events, monkeypatch):
    """A use case that fails inside a handler leaves neither its outbox row nor the inbox mark."""
    with transaction.atomic(using="analytics"):
        publish(producer="analytics", type="kit.noted", aggregate_id="kit", payload=Noted(text="boom"))

    writes = note_echo.__wrapped__

    def after_publish_fails(*, text):
        writes(text=text)
        raise RuntimeError("the use case fails after writing")

    monkeypatch.setattr(f"{__name__}.note_echo", use_case("analytics")(after_publish_fails))
    from coko.platform.events import delivery

    with pytest.raises(Exception):
        delivery.apply_events(handler="analytics.kit_echo",
                              events=[e.to_event().to_dict() for e in
                                      apps.get_model("analytics", "OutboxEvent").objects.filter(type="kit.noted")])
    assert outbox("kit.echoed") == []
    assert not apps.get_model("analytics", "InboxEntry").objects.filter(handler="analytics.kit_echo").exists()


def test_use_case_names_a_domain():
    with pytest.raises(ValueError, match="not a domain"):
        use_case("billing")


def test_model_update_writes_only_what_changed_and_the_auto_now_fields():
    UserSettings = apps.get_model("notifications", "UserSettings")
    settings_row = UserSettings.objects.create(user_id=uuid.uuid4(), time_zone="Africa/Dakar")
    UserSettings.objects.filter(pk=settings_row.pk).update(updated_at=timezone.now() - timedelta(days=1))
    settings_row.refresh_from_db()
    before = settings_row.updated_at

    _, changed = model_update(instance=settings_row, fields=["time_zone", "quiet_hours_start"],
                              data={"time_zone": "Africa/Dakar", "country": "SN"})
    assert changed == []  # same value; fields not listed are ignored
    settings_row.refresh_from_db()
    assert settings_row.updated_at == before

    _, changed = model_update(instance=settings_row, fields=["time_zone"], data={"time_zone": "Africa/Abidjan"})
    assert changed == ["time_zone"]
    settings_row.refresh_from_db()
    assert settings_row.time_zone == "Africa/Abidjan" and settings_row.updated_at > before
    with connections["notifications"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM notifications_usersettings")
        assert cursor.fetchone()[0] == 1
