"""pytest plugin loaded first (``-p coko.devtools.testing.plugin`` in pyproject).

It runs before pytest-django reads the settings, so the test configuration
comes from the environment like any other: the test profile, fast event retries,
and one Redis key space per xdist worker.
"""

import os

_worker = os.environ.get("PYTEST_XDIST_WORKER")
os.environ.setdefault("COKO_ENV", "test")
# An xdist worker inherits the controller's environment, namespace included:
# each worker appends its own id, so no two workers share queues or keys.
_namespace = os.environ.get("COKO_REDIS_NAMESPACE") or f"cokotest-{os.getpid()}"
if _worker and not _namespace.endswith(f"-{_worker}"):
    _namespace = f"{_namespace}-{_worker}"
os.environ["COKO_REDIS_NAMESPACE"] = _namespace
os.environ.setdefault("COKO_EVENT_MAX_RETRIES", "2")
os.environ.setdefault("COKO_EVENT_MIN_BACKOFF_MS", "20")
os.environ.setdefault("COKO_EVENT_MAX_BACKOFF_MS", "200")
os.environ.setdefault("COKO_RELAY_IDLE_S", "0.05")
os.environ.setdefault("COKO_LOG_CONSOLE", "1")
os.environ.setdefault("LOG_LEVEL", "WARNING")

# Suite-wide fixtures (a ``-p`` plugin's fixtures are visible to every test).
from coko.devtools.testing.clock import clock  # noqa: E402,F401


def namespace_wipe(*, url: str, namespace: str) -> int:
    """Delete every key of ``namespace`` (``<namespace>:*``) in the Redis at ``url``; how many."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        removed = 0
        batch = []
        for key in client.scan_iter(match=f"{namespace}:*", count=1000):
            batch.append(key)
            if len(batch) == 500:
                removed += client.unlink(*batch)
                batch.clear()
        if batch:
            removed += client.unlink(*batch)
        return removed
    finally:
        client.close()


def pytest_sessionfinish(session, exitstatus):
    """Leave nothing in Redis: a test run shares the server ``make run`` uses (the embedded
    one in ``var/``, or the machine's), and its queues, caches and counters are its own."""
    from django.conf import settings

    if not settings.configured:
        return
    urls = {settings.REDIS_URL, *(c.get("LOCATION") for c in settings.CACHES.values()
                                  if "redis" in c.get("BACKEND", "").lower())}
    for url in filter(None, urls):
        try:
            namespace_wipe(url=url, namespace=settings.REDIS_NAMESPACE)
        except Exception:  # a Redis already stopped: nothing left to leave behind  # noqa: BLE001
            pass
