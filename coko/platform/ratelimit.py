"""Rate limits in Redis, shared by every web process.

A limit is a number of hits per window for a key (``"login:ip:41.82.1.9"``).
The window slides: hits are timestamps in a sorted set, so a burst at the end of
one window and the start of the next is still one burst. One round trip per
check (a Lua script), keys expire on their own.

    rate_limit_check(key="login:ip:" + ip, limit=20, window_s=60)   # raises RateLimited

Lockouts (too many failed logins for one account) use ``failure_record`` /
``failures_clear`` and ``lockout_check``: the key is derived from the
identifier the client typed, never from whether an account exists, so a
lockout says nothing about which accounts are real.
"""

from __future__ import annotations

import math
import time
import uuid

import dramatiq
from django.conf import settings
from django.utils.translation import gettext_lazy as _

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
redis.call('PEXPIRE', key, math.ceil(window * 1000))
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
                              args=[time.time(), window_s, limit, uuid.uuid4().hex])
    return bool(allowed), max(1, math.ceil(float(wait))) if not allowed else 0


def rate_limit_check(*, key: str, limit: int, window_s: float) -> None:
    """Count one hit, or raise ``RateLimited`` (429 with ``Retry-After``)."""
    allowed, retry_after = rate_limit_hit(key=key, limit=limit, window_s=window_s)
    if not allowed:
        raise RateLimited(message=_("Too many attempts. Try again in a moment."),
                          retry_after=retry_after)


def failure_record(*, key: str, window_s: int) -> int:
    """Count one failure for ``key`` (kept ``window_s``); returns the count so far."""
    client = _client()
    name = _key(f"fail:{key}")
    pipe = client.pipeline()
    pipe.incr(name)
    pipe.expire(name, window_s)
    count, _ = pipe.execute()
    return int(count)


def failures_clear(*, key: str) -> None:
    _client().delete(_key(f"fail:{key}"))


def lockout_check(*, key: str, threshold: int) -> None:
    """Raise ``RateLimited`` while ``key`` has ``threshold`` or more recent failures."""
    client = _client()
    name = _key(f"fail:{key}")
    pipe = client.pipeline()
    pipe.get(name)
    pipe.ttl(name)
    count, ttl = pipe.execute()
    if count is not None and int(count) >= threshold:
        raise RateLimited("locked_out", _("Too many failed attempts. Try again later."),
                          retry_after=max(1, int(ttl)))
