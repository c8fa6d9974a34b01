"""Rate limits in Redis, shared by every web process.

A limit is a number of hits per window for a key (``"login:ip:41.82.1.9"``).
The window slides: hits are timestamps in a sorted set, so a burst at the end of
one window and the start of the next is still one burst. One round trip per
check (a Lua script), keys expire on their own.

    rate_limit_check(key="login:ip:" + ip, limit=20, window_s=60)   # raises RateLimited

Lockouts (too many failed logins for one account) use ``failure_record`` /
``failures_clear`` and ``lockout_check``: the key is derived from the
account the client names (normalised: every spelling of one phone number is
one key), never from whether that account exists, so a lockout says nothing
about which accounts are real. Keys that name a client address take it from
``coko.platform.http.client.client_ip`` (the real client behind the gateway).
"""

from __future__ import annotations

import math
import uuid

import dramatiq
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from coko.platform import clock
from coko.platform.errors import RateLimited

_SLIDING_WINDOW = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {0, tostring(oldest[2] + window - now)}
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, math.ceil((window + 60) * 1000))  -- memory only: the scores decide
return {1, '0'}
"""

_scripts: dict[int, object] = {}


def _client():
    return dramatiq.get_broker().client


def _key(name: str) -> str:
    return f"{settings.REDIS_NAMESPACE}:rl:{name}"


def _script():
    client = _client()
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_SLIDING_WINDOW)
    return script


def rate_limit_hit(*, key: str, limit: int, window_s: float) -> tuple[bool, int]:
    """Count one hit; return ``(allowed, retry_after_seconds)``."""
    allowed, wait = _script()(keys=[_key(key)],
                              args=[clock.time(), window_s, limit, uuid.uuid4().hex])
    return bool(allowed), max(1, math.ceil(float(wait))) if not allowed else 0


def rate_limit_check(*, key: str, limit: int, window_s: float) -> None:
    """Count one hit, or raise ``RateLimited`` (429 with ``Retry-After``)."""
    allowed, retry_after = rate_limit_hit(key=key, limit=limit, window_s=window_s)
    if not allowed:
        raise RateLimited(message=_("Too many attempts. Try again in a moment."),
                          retry_after=retry_after)


_FAILURE = """
local key, now, window = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
local deadline = tonumber(redis.call('HGET', key, 'until'))
local count = 1
if deadline and now < deadline then
  count = redis.call('HINCRBY', key, 'count', 1)
else
  redis.call('HSET', key, 'count', 1)
end
redis.call('HSET', key, 'until', ARGV[3])  -- now + window, written by Python (Lua's tostring rounds)
redis.call('PEXPIRE', key, math.ceil((window + 60) * 1000))  -- memory only: 'until' decides
return count
"""


def _failures_key(key: str) -> str:
    # A hash {count, until}; "fail:" held a plain counter with a TTL (the key TTL decided then).
    return _key(f"failures:{key}")


def _failure_script():
    client = _client()
    script = _scripts.get(-id(client))
    if script is None:
        script = _scripts[-id(client)] = client.register_script(_FAILURE)
    return script


def failure_record(*, key: str, window_s: int) -> int:
    """Count one failure for ``key``; returns the count so far.

    The count lasts ``window_s`` after the last failure (each failure restarts the window).
    """
    now = clock.time()
    return int(_failure_script()(keys=[_failures_key(key)], args=[repr(now), window_s, repr(now + window_s)]))


def failures_clear(*, key: str) -> None:
    _client().delete(_failures_key(key))


def lockout_check(*, key: str, threshold: int) -> None:
    """Raise ``RateLimited`` while ``key`` has ``threshold`` or more failures in its window."""
    count, until = _client().hmget(_failures_key(key), "count", "until")
    if count is None or until is None or int(count) < threshold:
        return
    remaining = float(until) - clock.time()
    if remaining > 0:
        raise RateLimited("locked_out", _("Too many failed attempts. Try again later."),
                          retry_after=max(1, math.ceil(remaining)))
