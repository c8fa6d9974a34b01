"""Prometheus gauges of the event outboxes, computed at scrape time.

``OutboxCollector`` reads every domain's own tables through the domain's own
database alias (the platform imports no domain: models are looked up in the
app registry by label) and yields, labelled ``domain``:

* ``coko_outbox_backlog``: pending outbox rows (not yet handed to the broker);
* ``coko_outbox_oldest_age_seconds``: age of the first pending event in relay
  order (lowest id, its ``occurred_at``), 0 when nothing is pending;
* ``coko_dead_letters``: dead letters not replayed yet;
* ``coko_domain_database_up``: 1 when the domain's database answered, 0 when
  not. A domain whose database is down yields this 0 and no other sample, so a
  scrape never fails because of one database.

The collector lives in its own registry (``OUTBOX_REGISTRY``), outside
prometheus_client's default one, so a process exports it next to whatever
else it exports (``coko.platform.http.ops.metrics`` adds it to the
multi-process or the default registry; the relay can do the same).

Database probing helpers shared with ``/ready`` are here as well:
``quick_connect`` (a short connect timeout for one probe) and ``database_key``
(aliases sharing one database share one outage).
"""

from __future__ import annotations

from contextlib import contextmanager

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone
from prometheus_client.core import CollectorRegistry, GaugeMetricFamily
from prometheus_client.registry import Collector

from coko.platform.observability import get_logger

log = get_logger("coko.metrics")

PROBE_CONNECT_TIMEOUT_S = 2
PENDING = 0  # OutboxState.PENDING


@contextmanager
def quick_connect(connection, timeout: int = PROBE_CONNECT_TIMEOUT_S):
    """Within the block, a (re)connection of ``connection`` waits at most ``timeout`` s.

    Connection wrappers are per thread, so overriding ``get_connection_params``
    on this one instance affects nobody else; an open connection is reused as is.
    """
    original = connection.get_connection_params

    def params():
        return {**original(), "connect_timeout": timeout}

    connection.get_connection_params = params
    try:
        yield connection
    finally:
        del connection.get_connection_params


def database_key(alias: str) -> tuple:
    """What identifies the database behind ``alias`` (host, port, name, user)."""
    config = connections[alias].settings_dict
    return (config.get("HOST"), str(config.get("PORT") or ""), config.get("NAME"), config.get("USER"))


def outbox_stats(domain: str) -> tuple[int, float, int]:
    """``(pending, oldest_pending_age_seconds, dead_letters_not_replayed)`` of ``domain``."""
    outbox = apps.get_model(domain, "OutboxEvent").objects.using(domain)
    dead_letters = apps.get_model(domain, "DeadLetter").objects.using(domain)
    with quick_connect(connections[domain]):
        pending = outbox.filter(state=PENDING)
        backlog = pending.count()
        oldest = pending.order_by("id").values_list("occurred_at", flat=True).first()
        dead = dead_letters.filter(replayed_at__isnull=True).count()
    age = max(0.0, (timezone.now() - oldest).total_seconds()) if oldest else 0.0
    return backlog, age, dead


class OutboxCollector(Collector):
    """Outbox backlog, oldest pending age and dead letters of every domain."""

    def __init__(self, domains: list[str] | None = None) -> None:
        self._domains = domains

    def describe(self):
        return []  # computed at scrape time only; never at registration

    def collect(self):
        backlog = GaugeMetricFamily(
            "coko_outbox_backlog", "Outbox events not yet handed to the broker", labels=["domain"])
        oldest = GaugeMetricFamily(
            "coko_outbox_oldest_age_seconds", "Age of the oldest pending outbox event",
            labels=["domain"])
        dead = GaugeMetricFamily(
            "coko_dead_letters", "Dead-lettered events not replayed", labels=["domain"])
        up = GaugeMetricFamily(
            "coko_domain_database_up", "Whether the domain's database answered the scrape",
            labels=["domain"])
        failed: set[tuple] = set()
        for domain in self._domains or settings.COKO_DOMAINS:
            key = database_key(domain)
            if key in failed:
                up.add_metric([domain], 0)
                continue
            try:
                stats = outbox_stats(domain)
            except DatabaseError as exc:
                failed.add(key)
                up.add_metric([domain], 0)
                log.warning("outbox_metrics_unavailable", domain=domain, error=str(exc).strip()[:300])
                continue
            up.add_metric([domain], 1)
            backlog.add_metric([domain], stats[0])
            oldest.add_metric([domain], stats[1])
            dead.add_metric([domain], stats[2])
        yield from (backlog, oldest, dead, up)


OUTBOX_REGISTRY = CollectorRegistry(auto_describe=False)
OUTBOX_REGISTRY.register(OutboxCollector())
