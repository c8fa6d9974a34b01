"""What a request asks to change in a book, as a typed value: ``BookChanges``.

The HTTP edge builds it from the validated body, in one place (``catalog.http``); a book
file's metadata builds it in ``changes_from_metadata``. The services read its attributes,
never a dict's keys.

A field the request did not give is ``UNSET`` (the one member of ``Unset``): the book keeps
what it has. ``None`` is a value: "clear it".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from decimal import Decimal
from uuid import UUID

from coko.platform.contracts import UNSET, Unset, given


@dataclass(frozen=True)
class AuthorCredit:
    """One credit of a book: an existing author by ``author_id``, else an author by ``name``
    (created if the catalogue has none of that name), in ``role`` (one of ``BookAuthor.ROLES``)."""

    name: str | None = None
    author_id: UUID | None = None
    role: str = "author"


@dataclass(frozen=True)
class BookTexts:
    """A book's title, subtitle and description in one other language (empty: not translated)."""

    title: str | None = None
    subtitle: str | None = None
    description: str | None = None

    def given(self) -> dict[str, str]:
        """The texts that have words, by field name (the shape ``Book.translations`` stores)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


@dataclass(frozen=True)
class BookChanges:
    """What a request asks to change in a book; a field left ``UNSET`` is not touched.

    ``translations``: ``{language: BookTexts}`` (the language as the client wrote it; the
    service normalises it). Prices are integer minor units.
    """

    title: str | None | Unset = UNSET
    subtitle: str | None | Unset = UNSET
    description: str | None | Unset = UNSET
    translations: Mapping[str, BookTexts] | None | Unset = UNSET
    language: str | None | Unset = UNSET
    access_model: str | None | Unset = UNSET
    price_amount: int | None | Unset = UNSET
    price_currency: str | None | Unset = UNSET
    publication_date: date | None | Unset = UNSET
    publication_year: int | None | Unset = UNSET
    publisher: str | None | Unset = UNSET
    series: str | None | Unset = UNSET
    series_position: Decimal | float | None | Unset = UNSET
    authors: tuple[AuthorCredit, ...] | None | Unset = UNSET
    categories: tuple[str, ...] | None | Unset = UNSET
    isbn: str | None | Unset = UNSET

    def given(self) -> dict[str, object]:
        """The fields the request gave, by name."""
        return given(self)

    @property
    def touches_relations(self) -> bool:
        return any(v is not UNSET for v in (self.authors, self.categories, self.isbn))
