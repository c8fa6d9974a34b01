"""Events in tests: drain a producer's outbox through the real delivery path.

``deliver_pending(producer="accounts", handler="notifications.welcome_new_user")`` is
what the relay and the worker would do for that handler, without their processes:
the producer's outbox rows the handler subscribes to, oldest first, go through
``delivery.apply_events`` (the handler's inbox, one durable transaction on its
alias), so an event already applied is not applied twice.
"""

from __future__ import annotations

from django.apps import apps
from django.db import connections

from coko.platform.events import Event
from coko.platform.events import delivery, registry


def outbox_events(producer: str, *types: str) -> list[Event]:
    """The events ``producer`` wrote to its outbox (of ``types``, if given), oldest first."""
    rows = apps.get_model(producer, "OutboxEvent").objects.order_by("id")
    if types:
        rows = rows.filter(type__in=types)
    return [row.to_event() for row in rows]


def last_event(producer: str, type_: str) -> Event:
    """The last ``type_`` event ``producer`` wrote, as a handler receives it."""
    row = apps.get_model(producer, "OutboxEvent").objects.filter(type=type_).order_by("-id").first()
    if row is None:
        raise LookupError(f"{producer} has published no {type_!r}")
    return row.to_event()


def deliver_pending(*, producer: str, handler: str) -> int:
    """Apply ``producer``'s events that ``handler`` takes and has not applied yet; how many."""
    sub = registry.subscription(handler)
    if sub is None:
        raise LookupError(f"no handler named {handler!r}")
    events = outbox_events(producer, *sorted(sub.event_types))
    if not events:
        return 0
    inbox = apps.get_model(sub.domain, "InboxEntry")._meta.db_table
    with connections[sub.domain].cursor() as cursor:
        cursor.execute(f'SELECT event_id::text FROM "{inbox}" WHERE handler = %s AND event_id = ANY(%s::uuid[])',
                       [sub.name, [str(e.id) for e in events]])
        seen = {row[0] for row in cursor.fetchall()}
    pending = [e.to_dict() for e in events if str(e.id) not in seen]
    if pending:
        delivery.apply_events(handler=sub.name, events=pending)
    return len(pending)


__all__ = ["deliver_pending", "last_event", "outbox_events"]
