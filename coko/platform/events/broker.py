"""The dramatiq broker (Redis) and the worker's metrics and tracing middleware."""

from __future__ import annotations

import time

import dramatiq
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    CurrentMessage,
    Middleware,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
)
from opentelemetry import context, trace
from prometheus_client import Counter, Gauge, Histogram

from coko.platform import tracing

from .doorbell import DoorbellRedisBroker

_LABELS = ("queue_name", "actor_name")
MESSAGES = Counter("dramatiq_messages_total", "Messages processed", _LABELS)
ERRORS = Counter("dramatiq_message_errors_total", "Messages that raised", _LABELS)
RETRIES = Counter("dramatiq_message_retries_total", "Messages re-enqueued for retry", _LABELS)
IN_PROGRESS = Gauge("dramatiq_messages_inprogress", "Messages being processed", _LABELS)
DURATION = Histogram(
    "dramatiq_message_duration_seconds", "Processing time", _LABELS,
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class WorkerMetrics(Middleware):
    """Prometheus metrics of a dramatiq worker, in the process's default registry."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    def after_enqueue(self, broker, message, delay):
        if "retries" in message.options:
            RETRIES.labels(message.queue_name, message.actor_name).inc()

    def before_process_message(self, broker, message):
        IN_PROGRESS.labels(message.queue_name, message.actor_name).inc()
        self._started[message.message_id] = time.perf_counter()

    def after_process_message(self, broker, message, *, result=None, exception=None):
        labels = (message.queue_name, message.actor_name)
        started = self._started.pop(message.message_id, None)
        if started is not None:
            DURATION.labels(*labels).observe(time.perf_counter() - started)
        IN_PROGRESS.labels(*labels).dec()
        MESSAGES.labels(*labels).inc()
        if exception is not None:
            ERRORS.labels(*labels).inc()

    after_skip_message = after_process_message


class MessageTracing(Middleware):
    """One ``process <actor>`` span per message, in the trace of whoever enqueued it.

    Enqueueing records the current span's W3C context in the message's options
    (``trace_context``); a message re-enqueued with no span current (moved from the
    delay queue) keeps the context it had. Does nothing when tracing is off.
    """

    OPTION = "trace_context"

    def __init__(self) -> None:
        self._spans: dict[str, tuple[trace.Span, object]] = {}

    def before_enqueue(self, broker, message, delay):
        carrier = tracing.current_carrier()
        if carrier:
            message.options[self.OPTION] = carrier

    def before_process_message(self, broker, message):
        if not tracing.enabled():
            return
        span = tracing.tracer().start_span(
            f"process {message.actor_name}", kind=trace.SpanKind.CONSUMER,
            context=tracing.context_from(message.options.get(self.OPTION)),
            attributes={"messaging.system": "dramatiq", "messaging.destination.name": message.queue_name,
                        "messaging.message.id": message.message_id,
                        "messaging.dramatiq.retries": message.options.get("retries", 0)},
        )
        self._spans[message.message_id] = (span, context.attach(trace.set_span_in_context(span)))

    def after_process_message(self, broker, message, *, result=None, exception=None):
        entry = self._spans.pop(message.message_id, None)
        if entry is None:
            return
        span, token = entry
        if exception is not None:
            span.record_exception(exception)
            span.set_status(trace.StatusCode.ERROR, f"{type(exception).__name__}: {exception}")
        context.detach(token)
        span.end()

    after_skip_message = after_process_message


def build_broker(*, url: str, namespace: str) -> DoorbellRedisBroker:
    """dramatiq's Redis broker whose idle consumers wait for a doorbell (see ``doorbell``)."""
    middleware = [
        MessageTracing(),  # first: its span holds the other middleware's work on the message
        WorkerMetrics(),
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(),
        CurrentMessage(),
    ]
    return DoorbellRedisBroker(
        url=url,
        namespace=f"{namespace}:dramatiq",
        middleware=middleware,
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=15,
    )


def install_broker() -> DoorbellRedisBroker:
    """Create the broker from settings and make it dramatiq's global broker."""
    from django.conf import settings

    broker = build_broker(url=settings.REDIS_URL, namespace=settings.REDIS_NAMESPACE)
    dramatiq.set_broker(broker)
    return broker
