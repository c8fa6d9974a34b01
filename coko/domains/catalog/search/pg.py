"""PostgreSQL full-text search (placeholder: plain tsvector; the real one is being built)."""

from __future__ import annotations

from django.db import connections

from .base import SearchBackend, SearchFilters, SearchHit, SearchResult

DB = "catalog"


def documents_refresh(*, book_ids) -> None:
    ids = [str(i) for i in book_ids]
    if not ids:
        return
    with connections[DB].cursor() as cursor:
        cursor.execute(
            """
            UPDATE book b SET search_vector = to_tsvector('simple', b.title || ' ' || coalesce(
                (SELECT string_agg(a.name, ' ') FROM catalog_bookauthor ba JOIN catalog_author a ON a.id = ba.author_id
                 WHERE ba.book_id = b.id), ''))
            WHERE b.id = ANY(%s::uuid[])
            """.replace("UPDATE book b", "UPDATE catalog_book b"),
            [ids],
        )


class PostgresBackend(SearchBackend):
    name = "postgres"

    def search(self, *, query: str, filters: SearchFilters, limit: int, offset: int, lang: str) -> SearchResult:
        with connections[DB].cursor() as cursor:
            cursor.execute(
                "SELECT id::text, ts_rank(search_vector, q) FROM catalog_book, plainto_tsquery('simple', %s) q "
                "WHERE status = 'published' AND search_vector @@ q ORDER BY 2 DESC, popularity DESC LIMIT %s OFFSET %s",
                [query, limit, offset],
            )
            hits = [SearchHit(book_id=r[0], score=float(r[1])) for r in cursor.fetchall()]
        return SearchResult(hits=hits, total=len(hits), facets={})
