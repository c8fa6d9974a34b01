"""publish(): write an event to the producing domain's outbox, in the caller's transaction."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.conf import settings
from django.db import connections

from coko.platform.context import current_trace_id
from coko.platform.contracts import EventPayload

from .declared import declared_for_publish, payload_dump
from .envelope import Event
from .tracing import publish_span


class PublishOutsideTransaction(RuntimeError):
    """publish() was called with no transaction open on the producer's alias."""


def outbox_table(domain: str) -> str:
    from django.apps import apps

    return apps.get_model(domain, "OutboxEvent")._meta.db_table


def publish(*, producer: str, type: str, aggregate_id: Any, payload: EventPayload) -> Event:
    """Record ``type`` in ``producer``'s outbox; it is delivered after the transaction commits.

    ``type`` must be declared in the producer's contracts (``EVENTS``) and ``payload``
    be an instance of its declared class; the envelope carries that class's ``VERSION``.

    Must run inside ``transaction.atomic(using=producer)``: the event and the
    state change it announces commit together or not at all. Events of one
    aggregate are numbered in commit order (a transaction-scoped advisory lock on
    the aggregate), which is what lets consumers apply them in order.
    """
    if producer not in settings.COKO_DOMAINS:
        raise ValueError(f"unknown producer domain {producer!r}")
    spec = declared_for_publish(producer=producer, event_type=type, payload=payload)
    connection = connections[producer]
    if not connection.in_atomic_block:
        raise PublishOutsideTransaction(
            f"publish({type!r}) needs transaction.atomic(using={producer!r}) around the use case"
        )
    event_id = uuid.uuid4()
    table = connection.ops.quote_name(outbox_table(producer))
    with publish_span(producer=producer, event_type=type, event_id=str(event_id)) as trace_context:
        event = Event(
            id=event_id,
            type=type,
            version=spec.version,
            producer=producer,
            aggregate_id=str(aggregate_id),
            payload=payload_dump(payload),
            trace_id=current_trace_id(),
            trace_context=trace_context,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (event_id, type, version, occurred_at, aggregate_id, payload,"
                f" trace_id, trace_context, state)"
                f" SELECT %s, %s, %s, %s, %s, %s, %s, %s, 0"
                f" FROM (SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))) AS aggregate_lock",
                [event.id, event.type, event.version, event.occurred_at, event.aggregate_id,
                 json.dumps(event.payload), event.trace_id, json.dumps(trace_context) if trace_context else None,
                 f"{producer}:{event.aggregate_id}"],
            )
    return event
