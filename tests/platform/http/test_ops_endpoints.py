"""/health, /ready and /metrics: what kubelet and Prometheus rely on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import dramatiq
import pytest
import redis
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, values
from prometheus_client.parser import text_string_to_metric_families

from coko.domains.catalog.models import OutboxEvent
from coko.domains.reading.models import DeadLetter
from coko.platform.http import ops

POD_IP_HOST = "10.42.0.17:8000"  # not in ALLOWED_HOSTS, as with a kubelet probe


def samples(response, name: str) -> dict[str, float]:
    """``{domain: value}`` of metric ``name`` in a /metrics response."""
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if sample.name == name:
                found[sample.labels["domain"]] = sample.value
    return found


# --- /health -----------------------------------------------------------------------------------
def test_health_answers_without_touching_any_dependency(client, settings, dead_redis_url):
    # No django_db mark: any query would raise. Redis is pointed at a dead socket.
    settings.REDIS_URL = dead_redis_url
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["version"] == client.get("/api/v1/meta").json()["version"]
    assert datetime.fromisoformat(body["started_at"]) <= datetime.now(UTC)
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics"])
@pytest.mark.django_db(databases="__all__")
def test_ops_paths_accept_any_host(client, path):
    assert client.get(path, HTTP_HOST=POD_IP_HOST).status_code == 200


def test_other_paths_still_check_the_host(client):
    assert client.get("/api/v1/meta", HTTP_HOST=POD_IP_HOST).status_code == 400
    assert client.get("/health/", HTTP_HOST=POD_IP_HOST).status_code == 400


def test_ops_paths_only_answer_reads(client):
    response = client.post("/health")
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


# --- /ready ------------------------------------------------------------------------------------
@pytest.mark.django_db(databases="__all__")
def test_ready_when_every_dependency_answers(client, settings):
    response = client.get("/ready")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    expected = {f"database:{alias}" for alias in settings.DATABASES} | {"redis", "broker"}
    assert set(body["checks"]) == expected
    assert set(body["checks"].values()) == {"ok"}


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_not_ready_names_the_dead_database(client, database_down):
    with database_down("catalog"):
        response = client.get("/ready")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "not_ready"
    checks = error["details"]["checks"]
    assert checks["database:catalog"].startswith("error: ")
    failed = {name for name, result in checks.items() if result != "ok"}
    assert failed == {"database:catalog"}
    assert client.get("/ready").status_code == 200  # and recovers with it


@pytest.mark.django_db(databases="__all__")
def test_not_ready_names_a_dead_redis(client, settings, dead_redis_url):
    settings.REDIS_URL = dead_redis_url
    response = client.get("/ready")
    assert response.status_code == 503
    checks = response.json()["error"]["details"]["checks"]
    assert checks["redis"].startswith("error: ")
    assert {name for name, result in checks.items() if result != "ok"} == {"redis"}


def test_the_broker_check_pings_the_broker_s_own_redis(monkeypatch, dead_redis_url):
    broker = dramatiq.get_broker()
    assert ops.broker_check() == "ok"
    monkeypatch.setattr(broker, "client", redis.Redis.from_url(dead_redis_url))
    assert ops.broker_check().startswith("error: ")


# --- /metrics ------------------------------------------------------------------------------------
@pytest.mark.django_db(databases="__all__")
def test_metrics_exports_outbox_gauges_for_every_domain(client, settings):
    response = client.get("/metrics")
    for name in ("coko_outbox_backlog", "coko_outbox_oldest_age_seconds", "coko_dead_letters"):
        assert set(samples(response, name)) == set(settings.COKO_DOMAINS), name
    assert set(samples(response, "coko_domain_database_up").values()) == {1.0}


@pytest.mark.django_db(databases="__all__")
def test_metrics_counts_a_pending_event(client):
    before = samples(client.get("/metrics"), "coko_outbox_backlog")["catalog"]
    OutboxEvent.objects.create(
        event_id=uuid4(), type="test.happened", aggregate_id="a1", payload={},
        occurred_at=timezone.now() - timedelta(minutes=2), state=0,
    )
    response = client.get("/metrics")
    assert samples(response, "coko_outbox_backlog")["catalog"] == before + 1
    assert samples(response, "coko_outbox_oldest_age_seconds")["catalog"] >= 120
    assert samples(response, "coko_outbox_oldest_age_seconds")["reading"] == 0


@pytest.mark.django_db(databases="__all__")
def test_metrics_counts_dead_letters_not_replayed(client):
    common = dict(handler="h", event_type="test.happened", producer="catalog", envelope={}, error="boom")
    DeadLetter.objects.create(event_id=uuid4(), **common)
    DeadLetter.objects.create(event_id=uuid4(), replayed_at=timezone.now(), **common)
    assert samples(client.get("/metrics"), "coko_dead_letters")["reading"] == 1


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_dead_database_drops_its_samples_not_the_scrape(client, database_down):
    with database_down("catalog"):
        response = client.get("/metrics")
    backlog = samples(response, "coko_outbox_backlog")
    assert "catalog" not in backlog
    assert set(backlog) == {d for d in samples(response, "coko_domain_database_up")} - {"catalog"}
    assert samples(response, "coko_domain_database_up")["catalog"] == 0


@pytest.mark.django_db(databases="__all__")
def test_metrics_includes_django_prometheus_metrics(client):
    client.get("/api/v1/meta")
    assert b"django_http_requests_total_by_method_total" in client.get("/metrics").content


@pytest.mark.django_db(databases="__all__")
def test_metrics_in_multiprocess_mode_aggregates_workers(client, monkeypatch, tmp_path):
    """Under gunicorn (PROMETHEUS_MULTIPROC_DIR set) the worker files are read, plus our gauges."""
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    monkeypatch.setattr(values, "ValueClass", values.MultiProcessValue(lambda: 4242))
    Counter("coko_probe_worker_total", "written by a pretend worker", registry=CollectorRegistry()).inc(3)
    response = client.get("/metrics")
    assert b"coko_probe_worker_total 3.0" in response.content
    assert set(samples(response, "coko_outbox_backlog")) >= {"catalog"}
