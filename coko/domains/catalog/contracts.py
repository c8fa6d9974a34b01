"""Frozen data the catalog domain shares: facade results and event payloads.

No Django imports here: contracts must be importable by an extracted service.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from coko.platform import money
from coko.platform.contracts import EventPayload

# --- vocabularies ---------------------------------------------------------------------------------
BOOK_STATUSES = ("draft", "published", "withdrawn")
ACCESS_MODELS = ("free", "subscription", "sale")
FORMAT_KINDS = ("epub", "pdf", "audio")
CURRENCIES = money.CURRENCIES
#: ISO 4217 minor-unit exponent: XOF has no minor unit, EUR and USD have cents.
CURRENCY_EXPONENT = money.CURRENCY_EXPONENT
#: the parts a person has in a book; only ``author`` makes them one of its authors
CREDIT_ROLES = ("author", "translator", "illustrator", "editor", "narrator", "contributor")
SORTS = ("popularity", "newest", "rating", "title", "author", "year")
ORDERS = ("asc", "desc")

# --- events the catalog publishes (payload version 1) -------------------------------------------
BOOK_PUBLISHED = "book.published"
BOOK_UPDATED = "book.updated"
BOOK_WITHDRAWN = "book.withdrawn"


@dataclass(frozen=True)
class BookChanged(EventPayload):
    """Payload of ``book.published`` / ``book.updated`` / ``book.withdrawn``.

    Enough for a consumer to index or drop the book without calling back; ``version``
    grows with every change so a consumer can ignore a stale copy.
    """

    book_id: str
    version: int
    status: str
    title: str
    language: str
    access_model: str
    author_ids: tuple[str, ...] = ()
    category_ids: tuple[str, ...] = ()
    owner_id: str | None = None
    #: The price of a book sold on its own (``access_model`` ``sale``): integer minor units and
    #: its ISO 4217 code; None otherwise. Payments quotes orders from it.
    price_amount: int | None = None
    price_currency: str | None = None


COLLECTION_CHANGED = "collection.changed"
COLLECTION_DELETED = "collection.deleted"


@dataclass(frozen=True)
class CollectionChanged(EventPayload):
    """Payload of ``collection.changed`` / ``collection.deleted``: a collection's books as they
    now are (all of them, in its order; none once deleted), so a consumer replaces what it kept
    without calling back. ``version`` grows with every change of that collection: a consumer
    ignores a copy older than the one it has (payments: which books a collection pass opens).
    """

    collection_id: str
    slug: str
    version: int
    book_ids: tuple[str, ...] = ()
    deleted: bool = False


EVENTS: dict[str, type[EventPayload]] = {
    BOOK_PUBLISHED: BookChanged,
    BOOK_UPDATED: BookChanged,
    BOOK_WITHDRAWN: BookChanged,
    COLLECTION_CHANGED: CollectionChanged,
    COLLECTION_DELETED: CollectionChanged,
}


# --- ingestion (the files domain reads an EPUB and hands its metadata over) ----------------------
@dataclass(frozen=True)
class IngestedMetadata:
    """What a book file says about itself (an EPUB's OPF), used to pre-fill a draft."""

    title: str
    authors: tuple[str, ...] = ()
    language: str | None = None  # as written in the file ("fr", "fr-SN", "fre" …); the catalog normalises
    identifiers: tuple[tuple[str, str], ...] = ()  # (scheme, value): ("isbn", "978…"), ("uuid", "…")
    description: str | None = None
    publisher: str | None = None
    published: str | None = None  # an ISO date or year as written in the file
    subjects: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormatFile:
    """One stored file of a book, as the files domain describes it."""

    kind: str  # one of FORMAT_KINDS
    file_id: str
    media_type: str
    size: int
    sha256: str
    koreader_md5: str | None = None  # KOReader's partial MD5 (reading sync matches documents by it)


@dataclass(frozen=True)
class Cover:
    """A book's cover as stored by the files domain: the original and its thumbnails by name."""

    file_id: str
    urls: dict[str, str] = field(default_factory=dict)  # {"original": url, "small": url, …}
    generated: bool = False  # drawn by Coko from the title and author (readers are told)


@dataclass(frozen=True)
class BookRef:
    id: str
    title: str
    status: str


@dataclass(frozen=True)
class BookFiles:
    """What another domain needs to decide whether, and what, a reader may download."""

    book_id: str
    status: str
    access_model: str
    price_amount: int | None
    price_currency: str | None
    owner_id: str | None
    formats: tuple[FormatFile, ...] = ()
    cover_file_id: str | None = None
    title: str = ""  # the original title, and the authors (role author) in order: the download's name
    authors: tuple[str, ...] = ()


@dataclass(frozen=True)
class BookSummary:
    """A published book in a few fields (for other domains' lists: reading, clubs …)."""

    id: str
    title: str
    language: str
    access_model: str
    authors: tuple[str, ...] = ()  # the authors' names (role author: not the translators, illustrators …)
    cover_url: str | None = None
    description: str = ""
