"""Hot catalog reads cached in Redis as ready-to-send bytes, under versioned keys
(``coko.platform.versioned``): no catalogue-wide generation, a change makes cold only what
was built from it.

* **A book** (its page, its OPDS entry documents) is keyed by its own version
  (``book_version``: bumped after each committed change of that book, rating and popularity
  included: ``book_stats_set`` bumps that book and nothing else) and by ``NAMES`` (below).
  An edit shows in the book's page at once.
* **A page** (lists, search, authors, categories, collections, the OPDS feeds) is a
  short-lived whole entry (``COKO_CATALOG['CACHE_S']``; a warm page is one Redis round trip,
  its body already compressed) keyed by ``LISTINGS``. Why whole pages rather than a page's
  ids from SQL and a multi-get of its books: the warm path stays one round trip and no SQL
  (a page of ids would cost a query on every read), and a page's membership and order depend
  on every book anyway. ``LISTINGS`` is bumped by what changes them — a book published,
  withdrawn or edited, a collection, a category, an import — never by ratings and popularity,
  which the pages pick up when they expire (``CACHE_S`` at most). A page built again is one
  SQL statement for its rows and one multi-get of its books' rendered fragments
  (``opds.fragments``): the books that did not change are not rendered again.
* ``NAMES`` covers what every book shows of other rows (category, author, publisher and
  series names): category changes and imports bump it, with ``LISTINGS`` (``catalog_changed``).
  These are rare staff actions; keying every book by the names it shows would cost a version
  per name on every read.

The event handler of each change bumps again (``book_changed``), the durable path should the
process die between the commit and the bump.

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
sizes, grid prices, sparse-field sets) per ``LISTINGS`` version, and the cache's own Redis
(``COKO_CACHE_REDIS_URL``, ``allkeys-lru``) bounds their memory without touching the
broker's. ``CACHE_S = 0`` turns the cache off (every read from PostgreSQL, no Redis).
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Callable, Iterable, Sequence

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from coko.platform import versioned
from coko.platform.http.compression import compress

PAGE_SIZES = frozenset({10, 20, 50, 100})
PRICE_GRID = frozenset({0, *(m * 10**e for e in range(2, 7) for m in (1, 2, 5))})  # XOF, 100 … 5,000,000
SEARCH_DEPTH = 100  # results: search pages beyond are not stored
QUERY_MAX = 64  # characters of normalised search text whose pages are stored


LISTINGS = "catalog:listings"  # every page (module doc)
NAMES = "catalog:names"  # the names every book shows (module doc)
ETAG_CHARS = 24  # a stored entry: its ETag (hex), then its body


def book_version(book_id) -> str:
    """The version name of one book's cached entries."""
    return f"catalog:book:{book_id}"


def book_versions(book_id) -> tuple[str, str]:
    """What one book's entries are keyed by: its own version and the names it shows."""
    return book_version(book_id), NAMES


def book_changed(*book_ids, using: str | None = None) -> None:
    """These books changed (and so may the pages listing them): after the commit on ``using``."""
    versioned.bump(*(book_version(i) for i in book_ids), LISTINGS, using=using)


def book_stats_changed(book_id, *, using: str | None = None) -> None:
    """A book's rating or popularity changed: that book's entries only (pages expire on their own)."""
    versioned.bump(book_version(book_id), using=using)


def listings_changed(*, using: str | None = None) -> None:
    """A collection changed: the pages (no book shows what collections it is in)."""
    versioned.bump(LISTINGS, using=using)


def catalog_changed(*, using: str | None = None) -> None:
    """Categories or names changed, or an import ran: every book's entries and every page."""
    versioned.bump(NAMES, LISTINGS, using=using)


def ttl_s() -> int:
    """How long a page lives (0: the cache is off)."""
    return settings.COKO_CATALOG["CACHE_S"]


def key_for(kind: str, **params) -> str:
    raw = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    return f"catalog:{kind}:{hashlib.blake2b(raw.encode(), digest_size=12).hexdigest()}"


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


def dumps(value) -> bytes:
    return json.dumps(value, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False).encode()


def cached_bytes(kind: str, build: Callable[[], tuple[bytes, bool]], *, keep: bool = True,
                 versions: Sequence[str] = (LISTINGS,), **params) -> tuple[bytes, str]:
    """``(body, etag)``: the entry ``kind`` of ``params`` under ``versions``, or ``build()``'s
    ``(body, storable)`` stored there (``keep`` and ``storable`` and within the entry budget).
    One Redis round trip when it is there; none when the cache is off (``CACHE_S = 0``). The
    ETag derives from the body as built (it changes exactly when the content does)."""
    made: dict = {}

    def compute(_positions) -> dict[int, bytes]:
        body, storable = build()
        made["entry"] = entry = hashlib.blake2b(body, digest_size=ETAG_CHARS // 2).hexdigest().encode() + body
        fits = len(body) <= settings.COKO_CATALOG["CACHE_ENTRY_MAX_BYTES"]
        return {0: entry} if keep and storable and fits else {}

    if ttl_s() <= 0 or not keep:
        compute([0])
        entry = made["entry"]
    else:
        found = versioned.cached_many(entries=[(key_for(kind, **params), versions)], ttl_s=ttl_s(),
                                      compute_missing=compute)
        entry = found[0] or made["entry"]
    return entry[ETAG_CHARS:], '"' + entry[:ETAG_CHARS].decode() + '"'


def cached_json(kind: str, build: Callable[[], object], *, versions: Sequence[str] = (LISTINGS,),
                **params) -> bytes:
    """The JSON bytes of ``build()`` (not stored when empty), cached like ``cached_bytes``."""
    def made() -> tuple[bytes, bool]:
        value = build()
        return dumps(value), not _empty(value)

    return cached_bytes(kind, made, versions=versions, **params)[0]


def cached_response(kind: str, build: Callable[[], object], *, encoding: str | None, keep: bool = True,
                    versions: Sequence[str] = (LISTINGS,), **params) -> tuple[bytes, str]:
    """``(body, etag)`` of ``build()``: the JSON bytes, or their Brotli or gzip (``encoding``,
    from ``coko.platform.http.compression.negotiate``) — compressed once and cached so, so a
    hit costs one Redis round trip and no compression, hashing or serialising. The ETag is the
    JSON's (the same whatever the coding). ``keep=False`` (a read that is not ``storable``),
    an empty value or a body over the budget: answered, not stored."""
    def made() -> tuple[bytes, bool]:
        value = build()
        body = dumps(value)
        etag = hashlib.blake2b(body, digest_size=ETAG_CHARS // 2).hexdigest().encode()
        packed = compress(body, encoding) if encoding else body
        fits = len(body) <= settings.COKO_CATALOG["CACHE_ENTRY_MAX_BYTES"]
        return etag + packed, not _empty(value) and fits

    entry, _ = cached_bytes(f"{kind}:{encoding or 'identity'}", made, keep=keep, versions=versions, **params)
    return entry[ETAG_CHARS:], '"' + entry[:ETAG_CHARS].decode() + '"'
