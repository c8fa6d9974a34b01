"""Collections (``featured`` …) and readers' shelves: ordered lists of published books, paged
by keyset like the other lists (a cursor is the last item's place)."""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch, Q

from .. import errors
from ..models import BookAuthor, Collection, CollectionItem, ShelfItem
from .cards import book_card
from .lists import BookPage, cursor_decode, cursor_encode


def _name(collection: Collection, lang: str) -> str:
    return (collection.translations or {}).get(lang) or collection.name


def collection_list(*, lang: str = "en") -> list[dict]:
    """Every collection, in staff's order, with its number of published books."""
    rows = Collection.objects.annotate(book_count=Count(
        "items", filter=Q(items__book__status="published"))).order_by("position", "slug")
    return [{"slug": c.slug, "name": _name(c, lang), "book_count": c.book_count} for c in rows]


def _page(rows: list, limit: int, sort: str, value, lang: str) -> tuple[list[dict], str | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = cursor_encode(sort=sort, value=value(rows[-1]), book_id=rows[-1].id) if more and rows else None
    return [book_card(item.book, lang=lang) for item in rows], cursor


def _books(queryset):
    """Items whose book is published, with what a card needs (a fixed number of queries)."""
    credits = BookAuthor.objects.select_related("author").order_by("position")
    return (queryset.filter(book__status="published").select_related("book")
            .prefetch_related(Prefetch("book__credits", queryset=credits)))


def collection_detail(*, slug: str, lang: str = "en", cursor: str | None = None, limit: int = 20) -> dict | None:
    """A collection and one page of its published books in its order; ``None`` if unknown."""
    collection = Collection.objects.filter(slug=slug).first()
    if collection is None:
        return None
    items = _books(CollectionItem.objects.filter(collection=collection))
    if cursor:
        position, item_id = cursor_decode(cursor=cursor, sort="collection")
        if type(position) is not int or not item_id.isdigit():
            raise errors.INVALID_CURSOR(cursor=cursor)
        items = items.filter(Q(position__gt=position) | Q(position=position, id__gt=int(item_id)))
    rows = list(items.order_by("position", "id")[: limit + 1])
    books, next_cursor = _page(rows, limit, "collection", lambda item: item.position, lang)
    total = CollectionItem.objects.filter(collection=collection, book__status="published").count()
    return {"slug": collection.slug, "name": _name(collection, lang), "book_count": total, "items": books,
            "next_cursor": next_cursor, "limit": limit}


def shelf_page(*, user_id, lang: str = "en", cursor: str | None = None, limit: int = 20) -> BookPage:
    """One page of a reader's shelf, the books added last first (published books only)."""
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
    rows = list(items.order_by("-added_at", "-id")[: limit + 1])
    books, next_cursor = _page(rows, limit, "shelf", lambda item: item.added_at, lang)
    return BookPage(items=books, next_cursor=next_cursor, limit=limit, sort="shelf")


def shelf_has(*, user_id, book_id) -> bool:
    try:
        return ShelfItem.objects.filter(user_id=user_id, book_id=book_id).exists()
    except ValidationError:
        return False
