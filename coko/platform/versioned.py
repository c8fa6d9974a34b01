"""Cache entries keyed by the versions of what they were computed from: change one thing, and
only the entries built from it go cold. No global generation, no deletion to race with.

    from coko.platform import versioned

    access = versioned.cached(
        key=f"payments:access:{user_id}:{book_id}",
        versions=[f"payments:user:{user_id}", f"payments:book:{book_id}"],
        ttl_s=300, compute=lambda: ..., encode=json.dumps, decode=json.loads)

    versioned.bump(f"payments:user:{user_id}", using="payments")   # after the change commits

Many entries at once (a page's books, each under its own version) are one round trip too:

    bodies = versioned.cached_many(
        entries=[(f"catalog:entry:{i}:fr", [f"catalog:book:{i}"]) for i in ids], ttl_s=3600,
        compute_missing=lambda positions: {p: render(ids[p]) for p in positions})

A read is one Redis round trip (a script reads the versions and the entries stored under them);
a miss computes and stores under the versions read *before* computing, so a change that
commits meanwhile (and bumps) leaves that entry behind, never serves it. A version that is
missing (never bumped, or evicted: the cache Redis is ``allkeys-lru``) starts at a random
52-bit number and a bump adds one, so an entry stored under a lost version is found again
only by a one-in-2^52 chance. An entry lives ``ttl_s`` at most, which also bounds how long a
bump lost with a dying process can leave an entry in use.

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
# KEYS: the version keys of every entry, in order. ARGV: per entry, its key prefix and how many of
# KEYS are its versions. Returns, per entry, {entry or false, versions seen ("" for a missing one)...}.
# A read creates nothing: a miss that is not stored (a 404 of a made-up id) leaves no key behind.
_READ_MANY = """
local out, k = {}, 1
for e = 1, #ARGV, 2 do
  local versions, complete = {}, true
  for i = 1, tonumber(ARGV[e + 1]) do
    local v = redis.call('GET', KEYS[k])
    k = k + 1
    if not v then complete, v = false, '' end
    versions[i] = v
  end
  out[#out + 1] = complete and redis.call('GET', ARGV[e] .. '|' .. table.concat(versions, ':')) or false
  for i = 1, #versions do out[#out + 1] = versions[i] end
end
return out
"""
# KEYS: the distinct version keys of the entries to store. ARGV: a fresh random version, the entries'
# lifetime (ms), then per key the version seen before computing ("" for a missing one), then per
# entry its key prefix, its body, how many versions it has and their places in KEYS. A missing
# version starts at the fresh number (if it is still missing: a bump raced the computation
# otherwise); an entry is stored only if none of its versions changed meanwhile. Returns how many.
_STORE_MANY = """
local ok, now = {}, {}
for i, key in ipairs(KEYS) do
  local seen = ARGV[2 + i]
  if seen == '' then
    ok[i] = redis.call('SET', key, ARGV[1], 'NX') and true or false
    now[i] = ARGV[1]
  else
    ok[i] = redis.call('GET', key) == seen
    now[i] = seen
  end
end
local a, stored = 3 + #KEYS, 0
while a <= #ARGV do
  local prefix, body, m = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  local versions, good = {}, true
  for j = 1, m do
    local i = tonumber(ARGV[a + 2 + j])
    good = good and ok[i]
    versions[j] = now[i]
  end
  a = a + 3 + m
  if good then
    redis.call('SET', prefix .. '|' .. table.concat(versions, ':'), body, 'PX', ARGV[2])
    stored = stored + 1
  end
end
return stored
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


def cached_many(*, entries: Sequence[tuple[str, Sequence[str]]], ttl_s: float,
                compute_missing: Callable[[list[int]], dict[int, bytes]]) -> list[bytes | None]:
    """The bytes of each ``(key, versions)`` of ``entries`` under its current versions, in one
    round trip; those missing are ``compute_missing(positions)`` (a mapping position → bytes,
    computed together: one query for them all, say) and stored for ``ttl_s`` (a second round
    trip, only when something was missing). A position ``compute_missing`` leaves out is ``None``."""
    if not entries:
        return []
    keys, args = [], []
    for key, versions in entries:
        keys += [_name(v) for v in versions]
        args += [_name(key), len(versions)]
    found = _script(_READ_MANY)(keys=keys, args=args)
    bodies: list[bytes | None] = []
    seen: list[list] = []
    at = 0
    for _key, versions in entries:
        bodies.append(found[at] or None)
        seen.append(found[at + 1:at + 1 + len(versions)])
        at += 1 + len(versions)
    missing = [n for n, body in enumerate(bodies) if body is None]
    if missing:
        computed = compute_missing(missing)
        places: dict[str, int] = {}  # version key → its place in KEYS (1-based, as Lua counts)
        seen_of: list = []
        stored: list = []
        for n in missing:
            body = computed.get(n)
            if body is None:
                continue
            bodies[n] = body
            key, versions = entries[n]
            at_keys = []
            for version, value in zip(versions, seen[n], strict=True):
                name = _name(version)
                if name not in places:
                    places[name] = len(places) + 1
                    seen_of.append(value)
                at_keys.append(places[name])
            stored += [_name(key), body, len(at_keys), *at_keys]
        if stored:
            _script(_STORE_MANY)(keys=list(places), args=[_fresh(), max(1, int(ttl_s * 1000)), *seen_of, *stored])
    return bodies


def bump(*names: str, using: str | None = None) -> None:
    """New versions of ``names``: the entries built from them go cold. Inside a transaction on
    ``using``, after it commits (a rolled-back change bumps nothing)."""
    def run() -> None:
        script = _script(_BUMP)
        if len(names) == 1:
            script(keys=[_name(names[0])], args=[_fresh()])
            return
        pipe = _client().pipeline(transaction=False)  # many (an import's books): one round trip
        for name in names:
            script(keys=[_name(name)], args=[_fresh()], client=pipe)
        pipe.execute()

    if using is not None and transaction.get_connection(using).in_atomic_block:
        transaction.on_commit(run, using=using)
    else:
        run()


__all__ = ["bump", "cached", "cached_many"]
