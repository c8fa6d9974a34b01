"""Suite-wide fixtures: real test databases (one schema per domain) and real Redis."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    """Create the test databases once per worker: every alias, its own schema."""
    from coko.devtools.testing.databases import create_test_databases, destroy_test_databases

    # One name per run (and per xdist worker): two suites on one server never collide.
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", f"{os.getpid():x}")[:8]
    suffix = f"_{run}_{os.environ.get('PYTEST_XDIST_WORKER', 'gw')}"
    with django_db_blocker.unblock():
        state = create_test_databases(suffix=suffix)
    yield state
    with django_db_blocker.unblock():
        destroy_test_databases(state)


@pytest.fixture
def redis_client():
    """The broker's Redis connection (this worker's key space is its own)."""
    import dramatiq

    return dramatiq.get_broker().client


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request):
    """Rate-limit counters are per test: one test's logins don't lock out the next."""
    if "django_db_setup" not in request.fixturenames and not request.node.get_closest_marker("django_db"):
        yield
        return
    from django.conf import settings

    client = request.getfixturevalue("redis_client")
    for key in client.scan_iter(f"{settings.REDIS_NAMESPACE}:rl:*"):
        client.delete(key)
    yield


# --- outbound requests (SSRF) ------------------------------------------------------------------
@pytest.fixture
def outbound_loopback(settings):
    """Loopback provider simulators are allowed outbound destinations in this test, as
    ``make run`` allows its own (``COKO_OUTBOUND_ALLOWED_HOSTS``; coko/platform/outbound.py
    refuses loopback otherwise). Use it with ``pytest.mark.usefixtures("outbound_loopback")``."""
    settings.COKO_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
    return settings.COKO_OUTBOUND_ALLOWED_HOSTS
