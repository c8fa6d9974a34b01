"""Collections (``featured`` …) and readers' shelves: ordered lists of published books, paged
by keyset like the other lists (a cursor is the last item's place)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.db.models.expressions import RawSQL

from .. import errors
from ..models import Collection, CollectionItem, ShelfItem
from .full import book_json_sql, card_shaped, shaped
from .lists import BookPage, cursor_decode, cursor_encode


def _name(collection: Collection, lang: str) -> str:
    return (collection.translations or {}).get(lang) or collection.name


def collection_list(*, lang: str = "en") -> list[dict]:
    """Every collection, in staff's order, with its number of published books."""
    rows = Collection.objects.annotate(book_count=Count(
        "items", filter=Q(items__book__status="published"))).order_by("position", "slug")
    return [{"slug": c.slug, "name": _name(c, lang), "book_count": c.book_count} for c in rows]


def _page(items, order: tuple[str, str], limit: int, sort: str, lang: str, whole: bool
          ) -> tuple[list[dict], str | None]:
    """A page of ``items`` (a queryset) in ``order``: its books as cards (whole: ``whole``) and
    the next page's cursor (the last item's place), in one statement."""
    book_id = f'"{items.model._meta.db_table}"."book_id"'
    rows = list(items.order_by(*order).annotate(json=RawSQL(book_json_sql(book_id, whole=whole), ()))
                .values_list("id", order[0].lstrip("-"), "json")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = cursor_encode(sort=sort, value=rows[-1][1], book_id=rows[-1][0]) if more and rows else None
    if whole:
        return [shaped(raw, lang=lang) for _, _, raw in rows], cursor
    return [card_shaped(raw, lang=lang)[0] for _, _, raw in rows], cursor


def _books(queryset):
    """Items whose book is published."""
    return queryset.filter(book__status="published")


def collection_detail(*, slug: str, lang: str = "en", cursor: str | None = None, limit: int = 20,
                      whole: bool = False) -> dict | None:
    """A collection and one page of its published books in its order (cards; each book whole:
    ``whole``); ``None`` if unknown. Two statements: the collection with its count, the page."""
    collection = (Collection.objects.filter(slug=slug)
                  .annotate(book_count=Count("items", filter=Q(items__book__status="published"))).first())
    if collection is None:
        return None
    items = _books(CollectionItem.objects.filter(collection=collection))
    if cursor:
        position, item_id = cursor_decode(cursor=cursor, sort="collection")
        if type(position) is not int or not item_id.isdigit():
            raise errors.INVALID_CURSOR(cursor=cursor)
        items = items.filter(Q(position__gt=position) | Q(position=position, id__gt=int(item_id)))
    books, next_cursor = _page(items, ("position", "id"), limit, "collection", lang, whole)
    return {"slug": collection.slug, "name": _name(collection, lang), "book_count": collection.book_count,
            "items": books,
            "next_cursor": next_cursor, "limit": limit}


def shelf_page(*, user_id, lang: str = "en", cursor: str | None = None, limit: int = 20,
               whole: bool = False) -> BookPage:
    """One page of a reader's shelf, the books added last first (published books only; cards,
    or each book whole: ``whole``): one statement."""
    items = _books(ShelfItem.objects.filter(user_id=user_id))
    if cursor:
        added, item_id = cursor_decode(cursor=cursor, sort="shelf")
        try:
            added = datetime.fromisoformat(added)
        except (TypeError, ValueError):
            raise errors.INVALID_CURSOR(cursor=cursor) from None
        if not item_id.isdigit():
            raise errors.INVALID_CURSOR(cursor=cursor)
        items = items.filter(Q(added_at__lt=added) | Q(added_at=added, id__lt=int(item_id)))
    books, next_cursor = _page(items, ("-added_at", "-id"), limit, "shelf", lang, whole)
    return BookPage(items=books, next_cursor=next_cursor, limit=limit, sort="shelf")


def shelf_has(*, user_id, book_id) -> bool:
    try:
        return ShelfItem.objects.filter(user_id=user_id, book_id=book_id).exists()
    except ValidationError:
        return False
