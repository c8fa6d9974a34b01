"""Cache entries keyed by the versions of what they were computed from: change one thing, and
only the entries built from it go cold. No global generation, no deletion to race with.

    from coko.platform import versioned

    access = versioned.cached(
        key=f"payments:access:{user_id}:{book_id}",
        versions=[f"payments:user:{user_id}", f"payments:book:{book_id}"],
        ttl_s=300, compute=lambda: ..., encode=json.dumps, decode=json.loads)

    versioned.bump(f"payments:user:{user_id}", using="payments")   # after the change commits

A read is one Redis round trip (a script reads the versions and the entry stored under them;
``cached_many`` reads many entries in that one trip);
a miss computes and stores under the versions read *before* computing, so a change that
commits meanwhile (and bumps) leaves that entry behind, never serves it. A version that is
missing (never bumped, or evicted: the cache Redis is ``allkeys-lru``) starts at a random
52-bit number and a bump adds one, so an entry stored under a lost version is not found again
(short of a one-in-2^52 draw). An entry lives ``ttl_s`` at most, which also bounds how long a bump
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

# KEYS: the version keys, each once. ARGV[1]: a fresh random version; then, per entry, its key
# prefix, how many versions it has and their indexes in KEYS. Returns, per entry, {entry or false, its versions}.
_READ = """
local versions = {}
for i, key in ipairs(KEYS) do
  local v = redis.call('GET', key)
  if not v then
    redis.call('SET', key, ARGV[1], 'NX')
    v = redis.call('GET', key)
  end
  versions[i] = v
end
local out = {}
local i = 2
while i <= #ARGV do
  local n = tonumber(ARGV[i + 1])
  local parts = {}
  for j = 1, n do
    parts[j] = versions[tonumber(ARGV[i + 1 + j])]
  end
  local seen = table.concat(parts, ':')
  out[#out + 1] = redis.call('GET', ARGV[i] .. '|' .. seen) or false
  out[#out + 1] = seen
  i = i + 2 + n
end
return out
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
    return cached_many(entries=[(key, versions)], ttl_s=ttl_s, compute=lambda _missing: [compute()],
                       encode=encode, decode=decode, ttl_for=ttl_for)[0]


def cached_many(*, entries: Sequence[tuple[str, Sequence[str]]], ttl_s: float,
                compute: Callable[[list[int]], Sequence[T]], encode: Callable[[T], str | bytes],
                decode: Callable[[bytes], T], ttl_for: Callable[[T], float | None] | None = None) -> list[T]:
    """``cached`` for many ``(key, versions)`` entries at once: one Redis round trip reads them
    all, ``compute(indexes)`` answers the missing ones in one go (their values, in the order of
    ``indexes``), and one more round trip stores those. The values, in the order of ``entries``."""
    if not entries:
        return []
    names = list(dict.fromkeys(_name(v) for _key, versions in entries for v in versions))
    position = {name: n + 1 for n, name in enumerate(names)}
    args: list = [_fresh()]
    for key, versions in entries:
        args += [_name(key), len(versions), *(position[_name(v)] for v in versions)]
    found = _script(_READ)(keys=names, args=args)
    values: list = [None] * len(entries)
    missing: list[int] = []
    for n in range(len(entries)):
        entry = found[2 * n]
        if entry:
            value = decode(entry)
            if ttl_for is None or (ttl_for(value) or 1.0) > 0:
                values[n] = value
                continue
        missing.append(n)
    if missing:
        pipe = _client().pipeline(transaction=False)
        for n, value in zip(missing, compute(missing), strict=True):
            values[n] = value
            ttl = min(ttl_s, ttl_for(value) or ttl_s) if ttl_for else ttl_s
            if ttl > 0.001:
                seen = found[2 * n + 1]
                seen = seen.decode() if isinstance(seen, bytes) else str(seen)
                pipe.set(f"{_name(entries[n][0])}|{seen}", encode(value), px=max(1, int(ttl * 1000)))
        pipe.execute()
    return values


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


__all__ = ["bump", "cached", "cached_many"]
