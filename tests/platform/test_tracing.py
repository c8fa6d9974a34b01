"""Tracing: a registration, the event it publishes, the relay that sends it and the
notifications handler a real worker runs are one trace; spans leave the process over
OTLP only when an endpoint is configured."""

from __future__ import annotations

import http.server
import threading

import dramatiq
import pytest
from django.apps import apps
from django.conf import settings
from django.db import connections
from dramatiq import Worker
from dramatiq.middleware import Middleware
from opentelemetry.instrumentation.django import DjangoInstrumentor
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from coko.devtools.testing.api import Api, client_address
from coko.platform import tracing
from coko.platform.events.delivery import queue_name
from coko.platform.events.relay import Relay
from tests.platform.events.conftest import Processes, purge_broker, wait_for

WELCOME = "notifications.welcome_new_user"
DELIVERY_QUEUE = "notifications"  # the notifications domain's delivery actor


@pytest.fixture
def spans():
    """Tracing on in this process, into an in-memory exporter; off again afterwards."""
    exporter = InMemorySpanExporter()
    assert tracing.configure(role="test", exporter=exporter)
    yield exporter
    tracing.shutdown()
    connections.close_all()  # their cursors were traced


class _CloseConnections(Middleware):
    """The in-process worker's threads close their connections after each message."""

    def after_process_message(self, broker, message, *, result=None, exception=None):
        connections.close_all()

    after_skip_message = after_process_message


def _run_worker_until(predicate, *, queues: set[str], message: str) -> None:
    """A real dramatiq worker, in this process (its spans reach the in-memory exporter)."""
    broker = dramatiq.get_broker()
    closing = _CloseConnections()
    broker.add_middleware(closing)
    worker = Worker(broker, queues=queues, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        wait_for(predicate, message=message)
    finally:
        worker.stop()
        broker.middleware.remove(closing)
        purge_broker()


def _ancestors(span, by_id) -> list:
    chain = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        chain.append(span)
    return chain


def _one(spans, predicate, what: str):
    found = [s for s in spans if predicate(s)]
    assert len(found) == 1, f"{what}: {len(found)} among {[s.name for s in spans]}"
    return found[0]


@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.live
def test_a_registration_and_the_welcome_it_causes_in_the_worker_are_one_trace(spans):
    purge_broker()
    response = Api(ip=client_address()).register(email="awa@example.sn", preferred_language="en")
    assert response.status_code == 201, response.data
    assert Relay(domains=["accounts"]).run_once() >= 1

    def delivered():
        names = {s.name for s in spans.get_finished_spans()}
        return "handle user.registered" in names and "process notifications.deliver" in names

    _run_worker_until(delivered, queues={queue_name("notifications"), DELIVERY_QUEUE},
                      message="the welcome handler and its delivery ran in the worker")

    finished = spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in finished}
    # sign-up is two requests (register/start, then register with the code): the second opens the account
    server = _one(finished, lambda s: s.kind is SpanKind.SERVER and s.name == "POST api/v1/auth/register",
                  "the HTTP server span")
    publish = _one(finished, lambda s: s.name == "publish user.registered", "the publish span")
    insert = _one(finished, lambda s: s.kind is SpanKind.CLIENT and s.parent == publish.context,
                  "the outbox INSERT")
    relayed = _one(finished, lambda s: s.name == "relay user.registered", "the relay span of the event")
    batch = _one(finished, lambda s: s.name == "relay accounts", "the relay batch span")
    handler = _one(finished, lambda s: s.attributes.get("coko.handler") == WELCOME, "the welcome handler span")
    message = by_id[handler.parent.span_id]
    deliveries = [s for s in finished  # the welcome's, one per channel (the sign-up code's are another trace)
                  if s.name == "process notifications.deliver" and message in _ancestors(s, by_id)]

    trace_id = server.context.trace_id
    for span in (publish, insert, relayed, message, handler, *deliveries):
        assert span.context.trace_id == trace_id, span.name
    assert "INSERT" in insert.attributes["db.statement"] and "accounts_outboxevent" in insert.attributes["db.statement"]
    # request → publish → relay (per event) → the worker's message → the handler → its delivery task
    assert server in _ancestors(publish, by_id)
    assert relayed.parent.span_id == publish.context.span_id and relayed.kind is SpanKind.PRODUCER
    assert (message.name, message.kind, message.parent.span_id) == (
        "process deliver_notifications", SpanKind.CONSUMER, relayed.context.span_id)
    assert deliveries and all(message in _ancestors(delivery, by_id) for delivery in deliveries)
    assert any(s.kind is SpanKind.CLIENT for s in finished if s.parent == handler.context)  # its SQL
    # The batch is a trace of its own, linked both ways with the event's spans.
    assert batch.context.trace_id != trace_id
    assert publish.context.span_id in [link.context.span_id for link in batch.links]
    assert [link.context.span_id for link in relayed.links] == [batch.context.span_id]

    row = apps.get_model("accounts", "OutboxEvent").objects.get(type="user.registered")
    assert row.trace_context["traceparent"].startswith(f"00-{trace_id:032x}-{publish.context.span_id:016x}-")


@pytest.mark.django_db
def test_database_and_redis_calls_outside_any_traced_work_are_not_traced(spans, redis_client):
    redis_client.ping()  # a worker polling its queues, a relay looking for work
    assert spans.get_finished_spans() == ()
    with tracing.tracer().start_as_current_span("work"):
        redis_client.ping()
    assert [s.name for s in spans.get_finished_spans()] == ["PING", "work"]


def test_configuring_twice_changes_nothing(spans):
    other = InMemorySpanExporter()
    assert tracing.configure(role="test", exporter=other)  # an autoreloaded module, a second test
    with tracing.tracer().start_as_current_span("work"):
        pass
    assert ([s.name for s in spans.get_finished_spans()], other.get_finished_spans()) == (["work"], ())
    assert settings.MIDDLEWARE.count(DjangoInstrumentor._opentelemetry_middleware) == 1


@pytest.mark.django_db
def test_a_message_carries_the_trace_of_whoever_enqueued_it_even_through_the_delay_queue(spans):
    broker = dramatiq.get_broker()
    message = dramatiq.Message(queue_name="tracing-test", actor_name="nobody", args=(), kwargs={}, options={})
    try:
        with tracing.tracer().start_as_current_span("request") as span:
            delayed = broker.enqueue(message, delay=60_000)
        carried = delayed.options["trace_context"]["traceparent"]
        assert carried.split("-")[1] == f"{span.get_span_context().trace_id:032x}"
        due = broker.enqueue(delayed.copy(queue_name="tracing-test"))  # moved by the worker: no span current
        assert due.options["trace_context"]["traceparent"] == carried
    finally:
        purge_broker()


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_with_tracing_off_nothing_is_recorded_in_the_outbox():
    assert not tracing.enabled()
    response = Api(ip=client_address()).register(email="awa@example.sn")
    assert response.status_code == 201, response.data
    row = apps.get_model("accounts", "OutboxEvent").objects.get(type="user.registered")
    assert (row.trace_context, row.to_event().trace_context) == (None, {})


def test_tracing_is_off_without_an_endpoint_and_when_disabled():
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    assert tracing.build_provider(role="web", environ={}) is None
    assert tracing.build_provider(role="web", environ={**endpoint, "OTEL_SDK_DISABLED": "true"}) is None
    assert tracing.build_provider(role="web", environ={**endpoint, "OTEL_TRACES_EXPORTER": "none"}) is None
    assert not tracing.enabled()


@pytest.fixture
def otlp_receiver():
    """A loopback OTLP/HTTP endpoint that keeps what it is sent: [(path, body)]."""
    received = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append((self.path, self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def test_with_an_endpoint_spans_are_exported_over_otlp_http_in_batches(otlp_receiver, monkeypatch):
    url, received = otlp_receiver
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    provider = tracing.build_provider(role="worker")
    with provider.get_tracer("test").start_as_current_span("a message"):
        pass
    provider.shutdown()  # flushes the batch, as a process's exit does

    [(path, body)] = received
    assert path == "/v1/traces"
    [resource_spans] = ExportTraceServiceRequest.FromString(body).resource_spans
    resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert (resource["service.name"], resource["coko.process.role"]) == ("coko", "worker")
    assert [s.name for scope in resource_spans.scope_spans for s in scope.spans] == ["a message"]


def _exported(received) -> list[tuple[str, object]]:
    """(process role, span) of every span the receiver was sent."""
    spans = []
    for _, body in list(received):
        for resource_spans in ExportTraceServiceRequest.FromString(body).resource_spans:
            role = {a.key: a.value.string_value for a in resource_spans.resource.attributes}["coko.process.role"]
            spans += [(role, span) for scope in resource_spans.scope_spans for span in scope.spans]
    return spans


@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.live
def test_the_relay_and_worker_processes_export_their_spans_and_the_message_carries_the_trace(
    otlp_receiver, django_db_setup, monkeypatch
):
    url, received = otlp_receiver
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)  # the children's environment
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
    processes = Processes(django_db_setup)
    try:
        processes.worker(threads=1)
        processes.relay()
        assert Api(ip=client_address()).register(email="awa@example.sn").status_code == 201

        def exported():
            names = {(role, span.name) for role, span in _exported(received)}
            return {("relay", "relay accounts"), ("worker", "handle user.registered")} <= names

        wait_for(exported, message=lambda: f"spans exported: {_exported(received)}\n{processes.logs()}")
    finally:
        processes.stop_all()
    spans = _exported(received)
    batches = {span.span_id: span for role, span in spans if (role, span.name) == ("relay", "relay accounts")}
    message = next(span for role, span in spans
                   if (role, span.name) == ("worker", "process deliver_notifications"))
    # This process does not trace: the event carries no context, the relay's batch starts the trace
    # and the dramatiq message carries it to the worker.
    assert message.parent_span_id in batches
    assert message.trace_id == batches[message.parent_span_id].trace_id


@pytest.mark.django_db
def test_the_web_entry_point_traces_requests_when_an_endpoint_is_set(otlp_receiver, django_db_setup, monkeypatch):
    url, received = otlp_receiver
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
    result = Processes(django_db_setup).script(
        "import config.wsgi\n"  # what gunicorn and runserver load
        "from django.test import Client\n"
        "from coko.platform import tracing\n"
        "print(Client().get('/.well-known/jwks.json').status_code)\n"
        "tracing.shutdown()\n"
    )
    assert (result.returncode, result.stdout.strip()) == (0, "200"), result.stderr
    assert [(role, span.name) for role, span in _exported(received)] == [("web", "GET .well-known/jwks.json")]
