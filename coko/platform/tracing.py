"""Distributed tracing (OpenTelemetry): a request and everything it caused, one trace.

``configure(role=…)`` runs once at process start: the web process (``config/wsgi.py``,
``config/asgi.py``, so ``runserver`` too), ``run_worker`` and ``relay_outbox``. When
``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) is set it
installs the SDK's tracer provider (resource ``service.name=coko`` and
``coko.process.role=<role>``; ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES`` win),
one ``BatchSpanProcessor`` exporting OTLP over HTTP, and the Django, psycopg and Redis
instrumentations. Otherwise — or with ``OTEL_SDK_DISABLED=true`` or
``OTEL_TRACES_EXPORTER=none`` — it installs nothing: no provider, no processor, no
wrapped library, and the platform's own hooks return at their first line. The SDK reads
the other ``OTEL_*`` variables itself (headers, timeout, batch sizes, sampler, propagators).

The spans the platform adds (the events' spans are described in ``events/tracing.py``):
``publish <type>``, ``relay <domain>`` and ``relay <type>``, ``process <actor>`` for
every dramatiq message (``events.broker.MessageTracing``), ``handle <type>``.

Sampling: a database or Redis call that is no request's, message's or relay batch's
(the worker polling its queues, the relay looking for work, the ops probes' checks)
would be a one-span trace, thousands a minute: such root client spans are dropped;
every other root span is kept, children follow their parent. ``OTEL_TRACES_SAMPLER``
replaces this choice with the SDK's.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry import propagate, trace
from opentelemetry.context import Context

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

SERVICE_NAME = "coko"
ROLE_ATTRIBUTE = "coko.process.role"
# Requests that are not worth a trace: probes and scrapes, every few seconds.
EXCLUDED_URLS = r"^/health$,^/ready$,^/metrics$"

_provider: TracerProvider | None = None
_tracer: trace.Tracer = trace.NoOpTracer()
_global_set = False


def enabled() -> bool:
    """Whether this process records spans (``configure`` installed a provider)."""
    return _provider is not None


def tracer() -> trace.Tracer:
    """The platform's tracer: the configured provider's, else a no-op one."""
    return _tracer


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def build_provider(*, role: str, exporter: SpanExporter | None = None,
                   environ: Mapping[str, str] = os.environ) -> TracerProvider | None:
    """The tracer provider ``configure`` would install, or None when tracing is off.

    With ``exporter`` (the tests' in-memory one) spans go to it synchronously; without,
    to the OTLP/HTTP exporter in batches, if an endpoint is configured.
    """
    if _true(environ.get("OTEL_SDK_DISABLED")):
        return None
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    if exporter is not None:
        processor = SimpleSpanProcessor(exporter)
    else:
        endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if not endpoint or environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
            return None
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )

        processor = BatchSpanProcessor(OTLPSpanExporter())
    from_env = OTELResourceDetector().detect().attributes
    resource = Resource.create({"service.name": SERVICE_NAME, ROLE_ATTRIBUTE: role, **from_env})
    provider = TracerProvider(resource=resource,
                              sampler=None if environ.get("OTEL_TRACES_SAMPLER") else _sampler())
    provider.add_span_processor(processor)
    return provider


def _sampler():
    from opentelemetry.sdk.trace.sampling import (
        ALWAYS_ON,
        Decision,
        ParentBased,
        Sampler,
        SamplingResult,
    )

    class SkipOrphanClientSpans(Sampler):
        """Root spans: keep all but a client call (SQL, Redis) that nothing traced made."""

        def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None,
                          links=None, trace_state=None):
            if kind is trace.SpanKind.CLIENT:
                return SamplingResult(Decision.DROP)
            return ALWAYS_ON.should_sample(parent_context, trace_id, name, kind, attributes, links, trace_state)

        def get_description(self) -> str:
            return "SkipOrphanClientSpans"

    return ParentBased(root=SkipOrphanClientSpans())


def configure(*, role: str, exporter: SpanExporter | None = None) -> bool:
    """Install tracing for this process, once; whether it is on.

    A second call (an autoreloaded module, a test) changes nothing and says whether the
    first one turned tracing on.
    """
    global _provider, _tracer, _global_set
    if _provider is not None:
        return True
    provider = build_provider(role=role, exporter=exporter)
    if provider is None:
        return False
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    if not _global_set:  # the API allows it once per process; libraries reading it get ours
        trace.set_tracer_provider(provider)
        _global_set = True
    excluded = os.environ.get("OTEL_PYTHON_DJANGO_EXCLUDED_URLS") or EXCLUDED_URLS
    DjangoInstrumentor().instrument(tracer_provider=provider, excluded_urls=excluded)
    PsycopgInstrumentor().instrument(tracer_provider=provider)
    RedisInstrumentor().instrument(tracer_provider=provider)
    _provider, _tracer = provider, provider.get_tracer("coko.platform")
    return True


def shutdown() -> None:
    """Flush and stop tracing, and unwrap the libraries (the tests; a process's exit)."""
    global _provider, _tracer
    if _provider is None:
        return
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor

    for instrumentor in (DjangoInstrumentor(), PsycopgInstrumentor(), RedisInstrumentor()):
        instrumentor.uninstrument()
    provider, _provider, _tracer = _provider, None, trace.NoOpTracer()
    provider.shutdown()


# --- the W3C trace context on the wire -------------------------------------------------------
def current_carrier() -> dict[str, str]:
    """The current span's context as W3C headers (``traceparent``, ``tracestate``); {} if none."""
    if _provider is None:
        return {}
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def context_from(carrier: Mapping[str, str] | None) -> Context | None:
    """The context a carrier holds (None for an empty or missing one)."""
    return propagate.extract(carrier) if carrier else None


def span_context_of(context: Context | None) -> trace.SpanContext:
    """The span context in ``context`` (the invalid one for None)."""
    return trace.get_current_span(context).get_span_context()
