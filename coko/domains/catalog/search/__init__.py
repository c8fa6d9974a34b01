"""Book search: one interface, two backends.

PostgreSQL full-text search is the embedded default; OpenSearch is used when
``OPENSEARCH_URL`` is set. The catalog's services and selectors call only the functions
below; the backend follows the settings (one instance per configuration).

    documents_refresh(book_ids=[...])   inside the catalog transaction that changed the books
    documents_refresh_all()              after a bulk load (set-based, every book)
    reindex()                            manage.py search_reindex: rebuild the configured index
    book_index_sync(book_id=...)         from the catalog event handlers (OpenSearch upsert/delete)
    books_search(query=..., filters=..., limit=..., offset=..., lang=...) -> SearchResult
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from .base import SearchBackend, SearchFilters, SearchHit, SearchResult

__all__ = ["SearchFilters", "SearchHit", "SearchResult", "backend", "documents_refresh", "documents_refresh_all",
           "reindex", "book_index_sync", "books_search"]


def backend() -> SearchBackend:
    """The configured backend: OpenSearch when ``OPENSEARCH_URL`` is set, else PostgreSQL
    (one instance per configuration, so a changed setting takes effect)."""
    return _backend(settings.OPENSEARCH_URL, settings.OPENSEARCH_INDEX)


@lru_cache(maxsize=4)
def _backend(url: str, alias: str) -> SearchBackend:
    if url:
        from .opensearch import OpenSearchBackend

        return OpenSearchBackend(url=url, alias=alias)
    from .pg import PostgresBackend

    return PostgresBackend()


def documents_refresh(*, book_ids) -> None:
    """Recompute the PostgreSQL search documents of these books (always: it is the fallback)."""
    from . import pg

    pg.documents_refresh(book_ids=book_ids)


def documents_refresh_all() -> int:
    """Recompute every book's PostgreSQL search document (bulk loads); returns how many changed."""
    from . import pg

    return pg.documents_refresh_all()


def reindex() -> dict:
    """Rebuild the configured backend's index: the OpenSearch index (new index, bulk load,
    atomic alias swap), or the PostgreSQL documents."""
    current = backend()
    if hasattr(current, "reindex"):
        return current.reindex()
    return {"documents": documents_refresh_all()}


def book_index_sync(*, book_id: str) -> None:
    """Bring the external index (if any) up to date with one book; idempotent."""
    backend().book_sync(book_id=book_id)


def books_search(*, query: str, filters: SearchFilters, limit: int = 20, offset: int = 0,
                 lang: str = "en", row_sql: str | None = None) -> SearchResult:
    """Published books matching ``query``: ranked by relevance then popularity, with facet
    counts (and each hit's ``row_sql``, when the backend can select it: ``SearchBackend.search``)."""
    return backend().search(query=query, filters=filters, limit=limit, offset=offset, lang=lang, row_sql=row_sql)
