"""PostgreSQL or Redis going away while the web process runs: ``/ready`` says 503
naming it, requests answer a 503 envelope, and the process recovers by itself
when the server is back — no restart, no request lost to a stale connection.

The web process is real (Django's WSGI server in a thread, persistent database
connections, the production request cycle); the outage is a real server
vanishing behind a ``FaultProxy``.
"""

from __future__ import annotations

import pytest

from .conftest import alias_through

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


# --- PostgreSQL ----------------------------------------------------------------------------------
def test_a_database_outage_makes_ready_503_naming_it_and_the_process_recovers_when_it_is_back(
    web, postgres_proxy
):
    with alias_through("catalog", postgres_proxy):
        app = web()
        assert app.get("/ready").status == 200
        assert app.get("/api/faults/catalog-events").status == 200
        assert postgres_proxy.accepted == 1  # one persistent connection served both requests

        postgres_proxy.cut()
        ready = app.get("/ready")
        assert ready.status == 503
        assert ready.error["code"] == "not_ready"
        checks = ready.error["details"]["checks"]
        assert checks["database:catalog"].startswith("error: ")
        assert {name for name, result in checks.items() if result != "ok"} == {"database:catalog"}

        postgres_proxy.restore()
        assert app.get("/ready").status == 200
        assert app.get("/api/faults/catalog-events").status == 200


def test_a_request_needing_a_dead_database_is_a_503_envelope_and_the_next_one_after_it_is_back_works(
    web, postgres_proxy
):
    with alias_through("catalog", postgres_proxy):
        app = web()
        assert app.get("/api/faults/catalog-events").body == {"count": 0}

        postgres_proxy.cut()
        response = app.get("/api/faults/catalog-events")
        assert response.status == 503
        assert response.error["code"] == "service_unavailable"
        assert response.error["details"] == {"dependency": "database"}
        assert app.get("/api/faults/catalog-events").status == 503  # still down: still 503

        postgres_proxy.restore()
        assert app.get("/api/faults/catalog-events").body == {"count": 0}


def test_a_persistent_connection_broken_while_idle_is_replaced_before_a_request_uses_it(
    web, postgres_proxy
):
    # The outage happens between two requests: nobody saw it fail. The kept
    # connection is dead; Django's health check (CONN_HEALTH_CHECKS) must notice
    # and reconnect, so the first request after the outage already succeeds.
    with alias_through("catalog", postgres_proxy):
        app = web()
        assert app.get("/api/faults/catalog-events").status == 200
        postgres_proxy.cut()
        postgres_proxy.restore()
        assert app.get("/api/faults/catalog-events").status == 200
        assert postgres_proxy.accepted == 2  # the dead connection was replaced, once


# --- Redis ---------------------------------------------------------------------------------------
def test_a_redis_outage_makes_ready_503_naming_redis_and_the_broker_and_the_process_recovers(
    web, redis_proxy, web_redis_through
):
    web_redis_through(redis_proxy.url)
    app = web()
    assert app.get("/ready").status == 200
    assert app.get("/api/faults/cache").body == {"value": "here"}
    assert redis_proxy.live_connections >= 3  # cache, readiness probe and broker, all kept open

    redis_proxy.cut()
    ready = app.get("/ready")
    assert ready.status == 503
    assert ready.error["code"] == "not_ready"
    checks = ready.error["details"]["checks"]
    assert checks["redis"].startswith("error: ") and checks["broker"].startswith("error: ")
    assert {name for name, result in checks.items() if result != "ok"} == {"redis", "broker"}

    redis_proxy.restore()
    assert app.get("/ready").status == 200
    assert app.get("/api/faults/cache").body == {"value": "here"}


def test_a_request_needing_a_dead_redis_is_a_503_envelope_and_the_next_one_after_it_is_back_works(
    web, redis_proxy, web_redis_through
):
    web_redis_through(redis_proxy.url)
    app = web()
    assert app.get("/api/faults/cache").status == 200

    redis_proxy.cut()
    response = app.get("/api/faults/cache")
    assert response.status == 503
    assert response.error["code"] == "service_unavailable"
    assert response.error["details"] == {"dependency": "redis"}

    redis_proxy.restore()
    assert app.get("/api/faults/cache").body == {"value": "here"}
