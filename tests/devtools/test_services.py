"""The embedded Redis (coko.devtools.services) is durable as the production broker is.

The fault it guards against: the relay marks an event sent once the broker
accepted it; a Redis that keeps its queues only in memory (or fsyncs its
append-only file only when the OS feels like it) loses accepted deliveries when it
is killed. The embedded Redis runs with ``appendonly yes`` and
``appendfsync everysec``, as production must. The cache has a server of its own (issue 10).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def embedded_redis():
    """An embedded Redis of its own (a short directory: Unix socket paths are limited)."""
    var = Path(tempfile.mkdtemp(prefix="coko-var-"))
    env = {**os.environ, "COKO_VAR_DIR": str(var), "DATABASE_URL": "postgresql://unused@/unused"}
    env.pop("REDIS_URL", None)
    env.pop("COKO_CACHE_REDIS_URL", None)

    def services(command: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "coko.devtools.services", command], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=60, check=True)

    try:
        services("up")
        client = redis.Redis(unix_socket_path=str(var / "run" / "redis.sock"), socket_timeout=5)
        client.cache = redis.Redis(unix_socket_path=str(var / "run" / "redis-cache.sock"), socket_timeout=5)
        yield client
        client.close()
        client.cache.close()
    finally:
        services("down")
        shutil.rmtree(var, ignore_errors=True)


def test_the_embedded_redis_keeps_an_append_only_file_fsynced_every_second(embedded_redis):
    assert embedded_redis.config_get("appendonly") == {"appendonly": "yes"}
    assert embedded_redis.config_get("appendfsync") == {"appendfsync": "everysec"}
    embedded_redis.lpush("durable", "accepted")
    assert embedded_redis.info("persistence")["aof_enabled"] == 1


def test_the_broker_never_evicts_and_the_cache_is_a_bounded_lru_of_its_own(embedded_redis):
    """Issue 10: cache entries (anyone's anonymous reads) must never evict or starve the
    broker's queues, the deny-list or the rate limits: two servers, two policies."""
    assert embedded_redis.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}
    cache = embedded_redis.cache
    assert cache.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
    assert cache.config_get("maxmemory") == {"maxmemory": str(64 * 1024 * 1024)}
    assert cache.config_get("appendonly") == {"appendonly": "no"}
    cache.set("entry", "page")
    assert embedded_redis.get("entry") is None  # another server, not another database
