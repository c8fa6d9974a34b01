"""The events' spans: one trace from the publishing request to every handler.

* ``publish <type>`` (producer) in the caller's transaction, child of whatever is
  current (the HTTP request's span); the envelope records its W3C context
  (``trace_context``) in the outbox row.
* The relay, per batch, ``relay <domain>``: the claim, the enqueueing and the rows marked
  sent, in a trace of its own with a link to each event's publish span (a batch mixes
  many requests' events: it cannot be a child of all of them). And per event that
  carries a context, ``relay <type>`` (producer): a *child* of that event's publish span,
  linked to the batch, so the request's trace shows when its event left the outbox. The
  delivered envelope carries this span's context on; a message is enqueued under the
  ``relay <type>`` span of its first event, so its ``process`` span is in that trace too.
* The worker, per message, ``process deliver_<domain>`` (``broker.MessageTracing``), and
  per event and handler, ``handle <type>``: a child of the message's span when the event
  belongs to the message's trace, else a child of the event's own ``relay <type>`` span
  with a link to the message's span.

With tracing off (``coko.platform.tracing``) each of these returns at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Self

from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind

from coko.platform import tracing

from .envelope import Event


def _event_attributes(*, event_id: str, event_type: str, producer: str) -> dict[str, str]:
    return {"messaging.system": "coko", "messaging.message.id": event_id,
            "messaging.destination.name": event_type, "coko.event.producer": producer}


@contextlib.contextmanager
def publish_span(*, producer: str, event_type: str, event_id: str) -> Iterator[dict[str, str]]:
    """``publish <type>``; yields the W3C context the envelope records ({} when off)."""
    if not tracing.enabled():
        yield {}
        return
    with tracing.tracer().start_as_current_span(
        f"publish {event_type}", kind=SpanKind.PRODUCER,
        attributes=_event_attributes(event_id=event_id, event_type=event_type, producer=producer),
    ):
        yield tracing.current_carrier()


class RelayBatch:
    """The spans of one relay batch; ``events`` are ``(event_id, type, trace_context)``."""

    def __init__(self, *, domain: str, events: list[tuple[str, str, dict]], started_ns: int) -> None:
        self.domain, self.events, self.started_ns = domain, events, started_ns
        self._batch: trace.Span | None = None
        self._spans: dict[str, trace.Span] = {}
        self._carriers: dict[str, dict[str, str]] = {}

    def __enter__(self) -> Self:
        if not tracing.enabled():
            return self
        tracer = tracing.tracer()
        parents = {event_id: tracing.context_from(carrier) for event_id, _, carrier in self.events if carrier}
        links = [Link(tracing.span_context_of(parent)) for parent in parents.values()]
        self._batch = tracer.start_span(
            f"relay {self.domain}", start_time=self.started_ns, links=links,
            attributes={"coko.event.producer": self.domain, "messaging.batch.message_count": len(self.events)},
        )
        to_batch = [Link(self._batch.get_span_context())]
        for event_id, event_type, _ in self.events:
            if event_id not in parents:
                continue
            span = tracer.start_span(
                f"relay {event_type}", context=parents[event_id], kind=SpanKind.PRODUCER,
                start_time=self.started_ns, links=to_batch,
                attributes=_event_attributes(event_id=event_id, event_type=event_type, producer=self.domain),
            )
            self._spans[event_id] = span
            with trace.use_span(span, end_on_exit=False):
                self._carriers[event_id] = tracing.current_carrier()
        return self

    def trace_context(self, event_id: str, recorded: dict[str, str]) -> dict[str, str]:
        """What the delivered envelope carries: the event's ``relay`` span, else what was recorded."""
        return self._carriers.get(event_id, recorded)

    def sending(self, first_event_id: str):
        """The context to enqueue a message in: its first event's ``relay`` span, else the batch's."""
        span = self._spans.get(first_event_id) or self._batch
        return trace.use_span(span, end_on_exit=False) if span is not None else contextlib.nullcontext()

    def __exit__(self, exc_type, exc, tb) -> None:
        for span in (*self._spans.values(), self._batch):
            if span is None:
                continue
            if exc is not None:
                span.record_exception(exc)
                span.set_status(trace.StatusCode.ERROR, f"{exc_type.__name__}: {exc}")
            span.end()


@contextlib.contextmanager
def handler_span(*, handler: str, event: Event) -> Iterator[None]:
    """``handle <type>`` around one handler's run of one event."""
    if not tracing.enabled():
        yield
        return
    message = trace.get_current_span().get_span_context()
    carried = tracing.context_from(event.trace_context)
    parent, links = None, []
    if carried is not None and tracing.span_context_of(carried).is_valid \
            and tracing.span_context_of(carried).trace_id != message.trace_id:
        parent, links = carried, ([Link(message)] if message.is_valid else [])
    with tracing.tracer().start_as_current_span(
        f"handle {event.type}", context=parent, links=links,
        attributes={**_event_attributes(event_id=str(event.id), event_type=event.type, producer=event.producer),
                    "coko.handler": handler},
    ):
        yield
