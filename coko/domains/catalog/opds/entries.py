"""The books of the OPDS feeds: a published book as a catalog entry, with its acquisitions
(a rel, a format, prices shown in XOF) worked out from the selectors' full dicts."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .. import cache, contracts, errors, selectors, values
from .vocabulary import ACQUISITION_REL, EPOCH, when

FORMAT_ORDER = {kind: n for n, kind in enumerate(contracts.FORMAT_KINDS)}
DISPLAY_CURRENCY = "XOF"
SUMMARY_MAX = 400  # characters of description in a partial entry (slow networks)


@dataclass(frozen=True)
class Price:
    currency: str
    amount: int  # minor units

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-contracts.CURRENCY_EXPONENT.get(self.currency, 2))

    @property
    def text(self) -> str:
        exponent = contracts.CURRENCY_EXPONENT.get(self.currency, 2)
        return f"{self.decimal:.{exponent}f}"

    @property
    def value(self) -> int | float:
        return self.amount if contracts.CURRENCY_EXPONENT.get(self.currency, 2) == 0 else float(self.decimal)


@dataclass(frozen=True)
class Acquisition:
    rel: str
    kind: str
    media_type: str
    size: int | None
    prices: tuple[Price, ...] = ()


@dataclass
class Book:
    data: dict  # selectors.book_full
    acquisitions: list[Acquisition]

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def updated(self) -> datetime:
        return when(self.data.get("updated_at")) or when(self.data.get("published_at")) or EPOCH

    def summary(self) -> str:
        description = " ".join((self.data.get("description") or "").split())
        if len(description) <= SUMMARY_MAX:
            return description
        cut = description[:SUMMARY_MAX].rsplit(" ", 1)[0]
        return cut.rstrip(" ,.;:") + "…"

    def issued(self) -> str | None:
        """The first publication date of the work (``dc:issued``): a date, or a year."""
        if self.data.get("publication_date"):
            return self.data["publication_date"][:10]
        year = self.data.get("publication_year")
        return f"{year:04d}" if year and year > 0 else None

    def published(self) -> str | None:
        """The first publication as OPDS 2.0's ``published`` (the Readium schema's ``date`` or
        ``date-time`` formats: a full date, never a year alone). A book known only by its year is
        given the first of January of that year; a year before 1 A.D. (the Iliad) has no date."""
        if self.data.get("publication_date"):
            return self.data["publication_date"][:10]
        year = self.data.get("publication_year")
        return f"{year:04d}-01-01" if year and 0 < year <= 9999 else None

    def isbns(self) -> list[str]:
        return [e["isbn13"] for e in self.data.get("editions", []) if e.get("isbn13")]


def prices(price: dict | None) -> tuple[Price, ...]:
    """The price to show: in XOF (converted as the catalogue's price filters do), then in the
    book's own currency when that is another one."""
    if not price:
        return ()
    own = Price(currency=price["currency"], amount=int(price["amount"]))
    if own.currency == DISPLAY_CURRENCY:
        return (own,)
    shown = Price(currency=DISPLAY_CURRENCY,
                  amount=values.price_in_xof(amount=own.amount, currency=own.currency))
    return (shown, own)


def book_prepare(data: dict | None) -> Book | None:
    """A published book as an OPDS catalog entry, or ``None`` when it has no file to acquire."""
    if not data or data.get("status", "published") != "published":
        return None
    rel = ACQUISITION_REL.get(data["access_model"])
    if rel is None:
        return None
    shown = prices(data.get("price")) if data["access_model"] == "sale" else ()
    if data["access_model"] == "sale" and not shown:
        return None  # a buy link must carry a price
    by_kind: dict[str, dict] = {}
    for edition in data.get("editions", []):
        for fmt in edition.get("formats", []):
            by_kind.setdefault(fmt["kind"], fmt)
    acquisitions = [Acquisition(rel=rel, kind=kind, media_type=fmt["media_type"], size=fmt.get("size"), prices=shown)
                    for kind, fmt in sorted(by_kind.items(), key=lambda kv: FORMAT_ORDER.get(kv[0], 99))]
    return Book(data=data, acquisitions=acquisitions) if acquisitions else None


def book_full(book_id: str, *, lang: str) -> dict | None:
    """A published book whole, through the JSON API's cache entry for it (same key)."""
    body = cache.cached_json("book", lambda: selectors.book_detail(book_id=book_id, lang=lang),
                             versions=cache.book_versions(book_id), id=str(book_id), lang=lang)
    return json.loads(body)


def books_prepare(books: list[dict]) -> list[Book]:
    """The entries of books whole (the selectors' ``books`` of a page: no query per book)."""
    return [b for b in (book_prepare(data) for data in books) if b is not None]


def book(*, book_id: str, lang: str) -> Book:
    found = book_prepare(book_full(book_id, lang=lang))
    if found is None:
        raise errors.BOOK_NOT_FOUND(book_id=str(book_id))
    return found


def catalog_updated(*, lang: str) -> datetime:
    """When the catalogue last gained a book (``updated`` of the navigation feeds)."""
    newest = selectors.book_page(filters=selectors.BookFilters(), sort="newest", limit=1, lang=lang).items
    return (when(newest[0]["published_at"]) if newest else None) or EPOCH
