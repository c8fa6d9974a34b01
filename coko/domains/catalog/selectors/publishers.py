"""Publishers and series: those with a published book, by name (keyset pages, searchable),
and one of them with its books (a series' in the series' order)."""

from __future__ import annotations

from django.db.models import F, Q, Value

from ..models import Publisher, Series
from .lists import BookFilters, book_page, cursor_decode, cursor_encode
from .names import folded


def _named_page(model, *, kind: str, query: str | None, cursor: str | None, limit: int
                ) -> tuple[list[dict], str | None]:
    """Rows of ``model`` (a unique ``name``) with at least one published book, by name, each
    with its count of published books (kept on the row by the services): one statement."""
    rows = model.objects.filter(book_count__gt=0)
    if query:  # part of the name, case and accents aside
        rows = rows.annotate(key=folded(F("name"))).filter(key__contains=folded(Value(query)))
    if cursor:
        name, row_id = cursor_decode(cursor=cursor, sort=kind)
        rows = rows.filter(Q(name__gt=name) | Q(name=name, id__gt=row_id))
    found = list(rows.order_by("name", "id")[: limit + 1])
    more = len(found) > limit
    found = found[:limit]
    next_cursor = cursor_encode(sort=kind, value=found[-1].name, book_id=found[-1].id) if more else None
    return [{"id": str(r.id), "name": r.name, "book_count": r.book_count} for r in found], next_cursor


def publisher_page(*, query: str | None = None, cursor: str | None = None, limit: int = 50
                   ) -> tuple[list[dict], str | None]:
    """Publishers of published books, by name, with their counts of published books."""
    return _named_page(Publisher, kind="publisher", query=query, cursor=cursor, limit=limit)


def series_page(*, query: str | None = None, cursor: str | None = None, limit: int = 50
                ) -> tuple[list[dict], str | None]:
    """Series with published books, by name, with their counts of published books."""
    return _named_page(Series, kind="series-name", query=query, cursor=cursor, limit=limit)


def _one(model, row_id) -> dict | None:
    found = model.objects.filter(id=row_id).values("id", "name", "book_count").first()
    return {**found, "id": str(found["id"])} if found else None


def publisher_detail(*, publisher_id, cursor: str | None = None, limit: int = 50, lang: str = "en"
                     ) -> dict | None:
    """A publisher and a page of its published books (most popular first); ``None`` if unknown."""
    publisher = _one(Publisher, publisher_id)
    if publisher is None:
        return None
    page = book_page(filters=BookFilters(publisher_id=publisher["id"], names_checked=True), sort="popularity",
                     cursor=cursor,
                     limit=limit, lang=lang)
    return {**publisher, "books": page.items, "next_cursor": page.next_cursor}


def series_detail(*, series_id, cursor: str | None = None, limit: int = 50, lang: str = "en") -> dict | None:
    """A series and a page of its published books in its order (number, then id; the books
    without a number last), each with its number; ``None`` if unknown."""
    series = _one(Series, series_id)
    if series is None:
        return None
    page = book_page(filters=BookFilters(series_id=series["id"], names_checked=True), sort="series", cursor=cursor,
                     limit=limit, lang=lang)
    return {**series, "books": page.items, "next_cursor": page.next_cursor}
