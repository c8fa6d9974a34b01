"""Hot catalog reads cached in Redis as ready-to-send JSON.

Every key carries the catalog *generation*, a counter bumped after each committed change
(right after the commit, and again by the handler of the change's event, which is the
durable path should the process die in between). A reader that raced a change can only
have written under the old generation, which nobody reads any more: no stale page
outlives the change. Entries also expire on their own (``COKO_CATALOG['CACHE_S']``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder

from coko.platform.http.compression import compress

GENERATION_KEY = "catalog:generation"


def _fresh_generation() -> int:
    # Should the counter vanish (Redis restarted without persistence, an eviction), it must
    # not start again at a number whose cached pages may still be there: start at the clock.
    return time.time_ns() // 1000


def generation() -> int:
    value = cache.get(GENERATION_KEY)
    if value is None:
        cache.add(GENERATION_KEY, _fresh_generation(), timeout=None)
        value = cache.get(GENERATION_KEY) or _fresh_generation()
    return int(value)


def catalog_changed() -> None:
    """Invalidate every cached catalog read (idempotent in effect: a bump is never harmful)."""
    try:
        cache.incr(GENERATION_KEY)
    except ValueError:  # the key vanished or was never set
        cache.add(GENERATION_KEY, _fresh_generation(), timeout=None)


def key_for(kind: str, **params) -> str:
    raw = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    return f"catalog:{kind}:{generation()}:{hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()}"


def dumps(value) -> bytes:
    return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()


def cached_json(kind: str, build: Callable[[], object], **params) -> bytes:
    """The JSON bytes of ``build()``, from the cache when this generation already built them."""
    key = key_for(kind, **params)
    body = cache.get(key)
    if body is None:
        body = dumps(build())
        cache.set(key, body, settings.COKO_CATALOG["CACHE_S"])
    return body


def cached_response(kind: str, build: Callable[[], object], *, encoding: str | None,
                    **params) -> tuple[bytes, str]:
    """``(body, etag)`` of ``build()`` for this generation: the JSON bytes, or their Brotli or
    gzip (``encoding``, from ``coko.platform.http.compression.negotiate``) — compressed once
    and cached too, so a hit costs one Redis GET and no compression, hashing or serialising.
    The ETag derives from the key (generation and parameters), so it changes exactly when
    the content may have.
    """
    key = key_for(kind, **params)
    etag = '"' + key.rsplit(":", 2)[-2] + "-" + key.rsplit(":", 1)[-1] + '"'
    if encoding:
        body = cache.get(f"{key}:{encoding}")
        if body is not None:
            return body, etag
    body = cache.get(key)
    if body is None:
        body = dumps(build())
        cache.set(key, body, settings.COKO_CATALOG["CACHE_S"])
    if not encoding:
        return body, etag
    packed = compress(body, encoding)
    cache.set(f"{key}:{encoding}", packed, settings.COKO_CATALOG["CACHE_S"])
    return packed, etag
