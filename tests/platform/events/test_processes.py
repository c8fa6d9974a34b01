"""The worker and relay processes expose /health, /ready and /metrics; staff replay
dead letters from the admin console."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
import uuid

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model

from .conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(port: int, path: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.parametrize("command, metric", [("relay_outbox", b"coko_relay_cycle_seconds"),
                                             ("run_worker", b"dramatiq_messages_total")])
def test_worker_and_relay_serve_health_readiness_and_metrics(processes, command, metric):
    port = free_port()
    marker = "relay running" if command == "relay_outbox" else "worker running"
    proc = processes._ready(processes.start(command, "--http-port", str(port)), marker)
    try:
        wait_for(lambda: get(port, "/health")[0] == 200, timeout=10)
        status, body = get(port, "/ready")
        checks = json.loads(body)["checks"]
        assert status == 200 and checks["broker"] == "ok"
        assert {f"database:{d}" for d in ("accounts", "catalog", "analytics")} <= set(checks)
        status, body = get(port, "/metrics")
        assert status == 200 and metric in body
        status, body = get(port, "/nowhere")
        assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
    finally:
        processes.stop(proc)


def test_staff_see_dead_letters_and_replay_them_from_the_admin(client, redis_client, settings):
    DeadLetter = apps.get_model("analytics", "DeadLetter")
    event_id = uuid.uuid4()
    letter = DeadLetter.objects.create(
        handler="analytics.test_record", event_id=event_id, event_type="test.recorded",
        producer="catalog", error="RuntimeError: boom", attempts=3,
        envelope={"id": str(event_id), "type": "test.recorded", "version": 1,
                  "occurred_at": "2026-11-28T00:00:00+00:00", "producer": "catalog",
                  "aggregate_id": "a", "payload": {"seq": 1}, "trace_id": "t"},
    )
    staff = get_user_model().objects.create_superuser("ops@example.org", "a-long-passphrase")
    client.force_login(staff)

    listing = client.get("/admin/analytics/deadletter/")
    assert listing.status_code == 200
    assert b"analytics.test_record" in listing.content

    queue = f"{settings.REDIS_NAMESPACE}:dramatiq:events.analytics"
    before = redis_client.llen(queue)
    response = client.post("/admin/analytics/deadletter/",
                           {"action": "replay", "_selected_action": [letter.id]}, follow=True)
    assert response.status_code == 200
    assert b"1 dead letter(s) queued for replay" in response.content
    assert redis_client.llen(queue) == before + 1
    letter.refresh_from_db()
    assert letter.replay_requested_at is not None
