"""Django's Redis cache, with one Redis client per connection pool instead of one per call.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` object for every
cache operation (about 0.15–0.2 ms of CPU with redis-py 8); the hot catalogue reads make
two cache calls per request. The clients are thread-safe and share the pool, so one per
pool (per process, per server) is enough. Behaviour is otherwise Django's own.

    CACHES = {"default": {"BACKEND": "coko.platform.cache.RedisCache", ...}}

The cache lives on a Redis of its own (``COKO_CACHE_REDIS_URL``, ``maxmemory`` with
``allkeys-lru``), not on the broker's (``REDIS_URL``: queues, deny-list, rate limits,
``noeviction``). ``maxmemory`` and the eviction policy belong to a server, not to a
logical database: a cache on another database of the broker's server would still evict
the broker's keys, or, under ``noeviction``, fill the memory the broker needs. In
production the system check ``coko.W201`` says so when the two URLs name one server.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}
        self._clients_lock = threading.Lock()

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            with self._clients_lock:
                client = self._clients.get(index)
                if client is None:
                    client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    def redis_client(self):
        """The ``redis.Redis`` client of this cache's server (tools and tests: scan, count keys)."""
        return self._cache.get_client(write=True)


def redis_server(url: str) -> tuple[str, ...]:
    """The server a Redis URL names, whatever its database, credentials or options."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return ("unix", parts.path)
    return ("tcp", (parts.hostname or "localhost").lower(), str(parts.port or 6379))


def redis_roles_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Production: the cache must not be on the broker's Redis server."""
    if not settings.PRODUCTION:
        return []
    if redis_server(settings.COKO_CACHE_REDIS_URL) != redis_server(settings.REDIS_URL):
        return []
    return [checks.Warning(
        "The cache (COKO_CACHE_REDIS_URL) is on the Redis server of the broker, the deny-list and "
        "the rate limits (REDIS_URL).",
        hint="Give the cache a Redis server of its own with a maxmemory and maxmemory-policy "
             "allkeys-lru, and run the broker's with noeviction: cache entries must never evict "
             "or starve the queues, the deny-list or the rate limits (README, Operating it).",
        id="coko.W201")]
