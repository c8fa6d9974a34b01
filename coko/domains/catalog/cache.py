"""Hot catalog reads cached in Redis as ready-to-send JSON.

Every key carries the catalog *generation*, a counter bumped after each committed change
(right after the commit, and again by the handler of the change's event, which is the
durable path should the process die in between). A reader that raced a change can only
have written under the old generation, which nobody reads any more: no stale page
outlives the change. Entries also expire on their own (``COKO_CATALOG['CACHE_S']``).

Nobody fills the cache by varying a query (issue 10). A key derives only from the read's
normalised parameters (the routes name them: an unknown query parameter never reaches a
key), and a read is *stored* only when they are among the shapes readers' apps ask for;
any other read is answered the same way (same body, same ETag) and not stored:

* first pages: a page after a cursor (an unsigned position anyone can forge) or beyond
  ``SEARCH_DEPTH`` results is read from the database each time;
* page sizes of ``PAGE_SIZES``; price filters on ``PRICE_GRID`` (0 and the 1-2-5 series);
* search text normalised (``search_text``) and at most ``QUERY_MAX`` characters;
* nothing empty (no such book; no items: an unknown category, author or language …);
* nothing over ``COKO_CATALOG['CACHE_ENTRY_MAX_BYTES']`` (served, not stored).

So the stored shapes are a product of small sets (sorts, filters that match books, page
sizes, grid prices, sparse-field sets) per generation, and the cache's own Redis
(``COKO_CACHE_REDIS_URL``, ``allkeys-lru``) bounds their memory without touching the
broker's.
"""

from __future__ import annotations

import hashlib
import json
import time
import unicodedata
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder

from coko.platform.http.compression import compress

GENERATION_KEY = "catalog:generation"
PAGE_SIZES = frozenset({10, 20, 50, 100})
PRICE_GRID = frozenset({0, *(m * 10**e for e in range(2, 7) for m in (1, 2, 5))})  # XOF, 100 … 5,000,000
SEARCH_DEPTH = 100  # results: search pages beyond are not stored
QUERY_MAX = 64  # characters of normalised search text whose pages are stored


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


def search_text(raw: str) -> str:
    """Search text as searched and as keyed: NFKC, lower case, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", raw).lower().split())


def storable(*, limit: int, cursor: str | None = None, offset: int = 0, q: str | None = None,
             prices: Iterable[int | None] = ()) -> bool:
    """Whether a read with these normalised parameters is one the cache keeps (module doc)."""
    return (not cursor and limit in PAGE_SIZES and offset % limit == 0 and offset + limit <= SEARCH_DEPTH
            and (q is None or len(q) <= QUERY_MAX) and all(p is None or p in PRICE_GRID for p in prices))


def _empty(value) -> bool:
    return value is None or value == [] or (isinstance(value, dict) and value.get("items") == [])


def store(key: str, body: bytes) -> bool:
    """Keep ``body`` under ``key`` unless it is over the entry budget; whether it was kept."""
    if len(body) > settings.COKO_CATALOG["CACHE_ENTRY_MAX_BYTES"]:
        return False
    cache.set(key, body, settings.COKO_CATALOG["CACHE_S"])
    return True


def dumps(value) -> bytes:
    return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()


def cached_json(kind: str, build: Callable[[], object], **params) -> bytes:
    """The JSON bytes of ``build()``, from the cache when this generation already built them."""
    key = key_for(kind, **params)
    body = cache.get(key)
    if body is None:
        value = build()
        body = dumps(value)
        if not _empty(value):
            store(key, body)
    return body


def cached_response(kind: str, build: Callable[[], object], *, encoding: str | None, keep: bool = True,
                    **params) -> tuple[bytes, str]:
    """``(body, etag)`` of ``build()`` for this generation: the JSON bytes, or their Brotli or
    gzip (``encoding``, from ``coko.platform.http.compression.negotiate``) — compressed once
    and cached too, so a hit costs one Redis GET and no compression, hashing or serialising.
    The ETag derives from the key (generation and parameters), so it changes exactly when
    the content may have. ``keep=False`` (a read that is not ``storable``), an empty value
    or a body over the budget: answered, not stored.
    """
    key = key_for(kind, **params)
    etag = '"' + key.rsplit(":", 2)[-2] + "-" + key.rsplit(":", 1)[-1] + '"'
    if encoding:
        body = cache.get(f"{key}:{encoding}")
        if body is not None:
            return body, etag
    body = cache.get(key)
    if body is None:
        value = build()
        body = dumps(value)
        keep = keep and not _empty(value) and store(key, body)
    if not encoding:
        return body, etag
    packed = compress(body, encoding)
    if keep:
        store(f"{key}:{encoding}", packed)
    return packed, etag
