"""The cache's Redis is not the broker's (issue 10).

The fault it guards against: cache entries (anyone's anonymous reads) filling the Redis
that holds the broker's queues, the token deny-list and the rate limits, until a
``maxmemory`` policy evicts those or, under ``noeviction``, refuses their writes. So the
cache (Django's ``CACHES``) reads ``COKO_CACHE_REDIS_URL``, the embedded default is a
second server (tests/devtools/test_services.py), and production warns (``coko.W201``)
when both roles share one server — a logical database apart is not enough, since
``maxmemory`` and the eviction policy are the server's.
"""

from __future__ import annotations

import json

import pytest

from coko.devtools.testing.manage import manage
from coko.platform.cache import redis_roles_check, redis_server

from .http.test_security_headers import production_env

SHOW = ("from django.conf import settings as s; import json;"
        " print(json.dumps([s.REDIS_URL, s.COKO_CACHE_REDIS_URL, s.CACHES['default']['LOCATION']]))")


def configured(**env: str) -> list[str]:
    result = manage("shell", "-c", SHOW, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_cache_reads_its_own_url_and_shares_redis_url_only_when_none_is_given():
    broker, own = "redis://broker.example:6379/0", "redis://cache.example:6380/0"
    assert configured(REDIS_URL=broker, COKO_CACHE_REDIS_URL=own) == [broker, own, own]
    assert configured(REDIS_URL=broker, unset=["COKO_CACHE_REDIS_URL"]) == [broker, broker, broker]
    embedded = configured(unset=["REDIS_URL", "COKO_CACHE_REDIS_URL"])
    assert embedded[0].endswith("/var/run/redis.sock") and embedded[1].endswith("/var/run/redis-cache.sock")


def test_a_bad_cache_url_stops_the_process_naming_it():
    result = manage("check", COKO_CACHE_REDIS_URL="memcached://cache:11211")
    assert result.returncode == 78
    assert "coko: configuration error: COKO_CACHE_REDIS_URL: " in result.stderr


@pytest.mark.parametrize("cache_url, broker_url, same", [
    ("redis://r:6379/1", "redis://r:6379/0", True),  # another logical database: the same server
    ("redis://:secret@R:6379/0", "redis://r/0", True),
    ("rediss://r:6379/0?ssl_cert_reqs=none", "redis://r:6379/0", True),
    ("unix:///run/redis.sock?db=1", "unix:///run/redis.sock", True),
    ("redis://r:6380/0", "redis://r:6379/0", False),
    ("redis://cache:6379/0", "redis://broker:6379/0", False),
    ("unix:///run/cache.sock", "unix:///run/redis.sock", False),
])
def test_what_counts_as_one_redis_server(cache_url, broker_url, same):
    assert (redis_server(cache_url) == redis_server(broker_url)) is same


def test_production_warns_when_the_cache_shares_the_brokers_server(settings):
    settings.PRODUCTION = True
    settings.REDIS_URL, settings.COKO_CACHE_REDIS_URL = "redis://r:6379/0", "redis://r:6379/1"
    assert [message.id for message in redis_roles_check()] == ["coko.W201"]
    settings.COKO_CACHE_REDIS_URL = "redis://cache:6379/0"
    assert redis_roles_check() == []
    settings.PRODUCTION, settings.COKO_CACHE_REDIS_URL = False, settings.REDIS_URL  # development, CI: fine
    assert redis_roles_check() == []


def test_a_production_start_without_a_cache_redis_says_so():
    env = production_env()
    del env["COKO_CACHE_REDIS_URL"]
    result = manage("check", **env, unset=["COKO_CACHE_REDIS_URL"])
    assert result.returncode == 0, result.stderr
    assert "coko.W201" in result.stderr + result.stdout and "allkeys-lru" in result.stderr + result.stdout
