"""Cache entries keyed by the versions of what they were computed from: change one thing, and
only the entries built from it go cold. No global generation, no deletion to race with.

    from coko.platform import versioned

    access = versioned.cached(
        key=f"payments:access:{user_id}:{book_id}",
        versions=[f"payments:user:{user_id}", f"payments:book:{book_id}"],
        ttl_s=300, compute=lambda: ..., encode=json.dumps, decode=json.loads)

    versioned.bump(f"payments:user:{user_id}", using="payments")   # after the change commits

A read is one Redis round trip (a script reads the versions and the entry stored under them);
a miss computes and stores under the versions read *before* computing, so a change that
commits meanwhile (and bumps) leaves that entry behind, never serves it. A version that is
missing (never bumped, or evicted: the cache Redis is ``allkeys-lru``) starts at the current
time in milliseconds and a bump never goes below it, so no entry stored under an older
version can match again. An entry lives ``ttl_s`` at most, which also bounds how long a bump
lost with a dying process can leave an entry in use.

Entries live on the cache Redis (Django's ``default`` cache, ``COKO_CACHE_REDIS_URL``).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction


T = TypeVar("T")

# KEYS: the version keys. ARGV: the entry's key prefix, a fresh random version. Returns {entry or false, versions...}.
_READ = """
local versions = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('GET', key)
  if not v then
    redis.call('SET', key, ARGV[2], 'NX')
    v = redis.call('GET', key)
  end
  versions[i] = v
end
local entry = redis.call('GET', ARGV[1] .. '|' .. table.concat(versions, ':'))
return {entry or false, unpack(versions)}
"""
# KEYS[1]: a version key. ARGV[1]: a fresh random version, for a key that is missing. The new version.
_BUMP = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  return ARGV[1]
end
return redis.call('INCR', KEYS[1])
"""
_scripts: dict[tuple[int, str], Any] = {}


def _client():
    return cache.redis_client()


def _script(source: str):
    client = _client()
    found = _scripts.get((id(client), source))
    if found is None:
        found = _scripts[(id(client), source)] = client.register_script(source)
    return found


def _name(key: str) -> str:
    return f"{settings.REDIS_NAMESPACE}:v:{key}"


def _fresh() -> int:
    return secrets.randbits(52)  # exact in Lua's doubles


def cached(*, key: str, versions: Sequence[str], ttl_s: float, compute: Callable[[], T],
           encode: Callable[[T], str | bytes], decode: Callable[[bytes], T],
           ttl_for: Callable[[T], float | None] | None = None) -> T:
    """The entry ``key`` under the current ``versions``, or ``compute()`` stored there for
    ``ttl_s`` seconds (or less, as ``ttl_for(value)`` says: a value true until a known time; an
    entry found past that time, by ``coko.platform.clock``, is computed again)."""
    found = _script(_READ)(keys=[_name(v) for v in versions], args=[_name(key), _fresh()])
    entry, seen = found[0], [v.decode() if isinstance(v, bytes) else str(v) for v in found[1:]]
    if entry:
        value = decode(entry)
        if ttl_for is None or (ttl_for(value) or 1.0) > 0:
            return value
    value = compute()
    ttl = min(ttl_s, ttl_for(value) or ttl_s) if ttl_for else ttl_s
    if ttl > 0.001:
        _client().set(f"{_name(key)}|{':'.join(seen)}", encode(value), px=max(1, int(ttl * 1000)))
    return value


def bump(*names: str, using: str | None = None) -> None:
    """New versions of ``names``: the entries built from them go cold. Inside a transaction on
    ``using``, after it commits (a rolled-back change bumps nothing)."""
    def run() -> None:
        script = _script(_BUMP)
        for name in names:
            script(keys=[_name(name)], args=[_fresh()])

    if using is not None and transaction.get_connection(using).in_atomic_block:
        transaction.on_commit(run, using=using)
    else:
        run()


__all__ = ["bump", "cached"]
