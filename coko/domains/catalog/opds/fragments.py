"""Each book's rendered feed entry, cached on its own: a feed is its head plus its books'
fragments, fetched for the whole page in one Redis round trip (``versioned.cached_many``); only
the books missing are rendered (together, in one pass) and stored.

A fragment is keyed by what it was rendered from: a digest of the book as read (its whole
dict: rating, popularity and the names it shows included), the format, the language and the
site's base URL. So a change of one book (a rating among a thousand) makes only that book's
fragment new, and a fragment can never be stored under data other than its own (no race with
a change committing while the page is built: the key is the content read, not a version read
beside it). Fragments outlive pages (``FRAGMENT_LIFETIMES`` of them): a page built again
after an edit elsewhere renders one book, not sixty.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from coko.platform import versioned

from .. import cache
from .entries import Book

FRAGMENT_LIFETIMES = 12  # a fragment lives this many page lifetimes (``COKO_CATALOG['CACHE_S']``)


def _digest(book: Book) -> str:
    raw = json.dumps(book.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def rendered(books: list[Book], *, kind: str, base: str, lang: str,
             render: Callable[[list[Book]], list[bytes]]) -> list[bytes]:
    """The fragment of each of ``books`` (``kind``: ``atom`` or ``opds2``), from the cache or
    ``render(missing books)`` (one fragment per book, in order), stored for next time. With
    the cache off, every book is rendered and nothing is stored."""
    ttl = cache.ttl_s() * FRAGMENT_LIFETIMES
    if ttl <= 0 or not books:
        return render(books)
    site = hashlib.blake2b(base.encode(), digest_size=6).hexdigest()
    entries = [(f"catalog:fragment:{kind}:{lang}:{site}:{_digest(book)}", ()) for book in books]

    def missing(positions: list[int]) -> dict[int, bytes]:
        return dict(zip(positions, render([books[n] for n in positions]), strict=True))

    return versioned.cached_many(entries=entries, ttl_s=ttl, compute_missing=missing)
