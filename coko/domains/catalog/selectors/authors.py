"""Authors: those with a published book, by name (keyset pages), and one author's page."""

from __future__ import annotations

from django.db.models import Q

from ..models import Author
from .lists import BookFilters, book_page, cursor_decode, cursor_encode


def author_page(*, query: str | None = None, cursor: str | None = None, limit: int = 20) -> tuple[list[dict], str | None]:
    """Authors with at least one published book, by name (keyset on sort name)."""
    authors = Author.objects.filter(book_count__gt=0)
    if query:
        authors = authors.filter(name__icontains=query)
    if cursor:
        value, author_id = cursor_decode(cursor=cursor, sort="author")
        authors = authors.filter(Q(sort_name__gt=value) | Q(sort_name=value, id__gt=author_id))
    rows = list(authors.order_by("sort_name", "id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = cursor_encode(sort="author", value=rows[-1].sort_name, book_id=rows[-1].id) if more else None
    return [author_card(a) for a in rows], next_cursor


def author_card(author: Author) -> dict:
    return {"id": str(author.id), "name": author.name, "book_count": author.book_count}


def author_detail(*, author_id, lang: str = "en", limit: int = 50) -> dict | None:
    """An author with their published books (most popular first)."""
    author = Author.objects.filter(id=author_id).first()
    if author is None:
        return None
    page = book_page(filters=BookFilters(author_id=str(author.id)), sort="popularity", limit=limit, lang=lang)
    return {**author_card(author), "bio": author.bio, "books": page.items, "next_cursor": page.next_cursor}
