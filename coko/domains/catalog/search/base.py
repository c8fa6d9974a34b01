"""The search backend interface and its result types."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SearchFilters:
    category: str | None = None  # a category slug: the category and its descendants
    author_ids: tuple[str, ...] = ()  # books crediting any of them
    publisher_id: str | None = None
    series_id: str | None = None
    language: str | None = None
    access_model: str | None = None
    price_min_xof: int | None = None
    price_max_xof: int | None = None


@dataclass(frozen=True)
class SearchHit:
    book_id: str
    score: float
    row: str | dict | None = None  # the book whole (the caller's ``row_sql``), when the backend selected it


@dataclass(frozen=True)
class SearchResult:
    hits: list[SearchHit]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)  # {"language": {"fr": 12}, …}


class SearchBackend:
    name = "base"

    def search(self, *, query: str, filters: SearchFilters, limit: int, offset: int, lang: str,
               row_sql: str | None = None) -> SearchResult:
        """``row_sql``: an SQL expression of a hit's book (its id: ``page.id``) that a backend
        in the catalogue's database selects with the hits (``SearchHit.row``); others ignore it."""
        raise NotImplementedError

    def book_sync(self, *, book_id: str) -> None:
        """Index or drop one book in the external index; nothing to do for PostgreSQL."""
