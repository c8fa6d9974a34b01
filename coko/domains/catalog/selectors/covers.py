"""Reads for the covers the platform makes or fetches (the files domain's jobs)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Q

from .. import contracts
from ..models import Book
from .cards import with_cards


def book_cover_source(*, book_id) -> str | None:
    """Where an imported book's cover is to be fetched from, while it has no cover of its own
    (none, or a generated one); ``None`` otherwise."""
    try:
        row = Book.objects.filter(id=book_id).values_list("cover_source_url", "cover_file_id", "cover_urls").first()
    except ValidationError:  # not a UUID
        return None
    if row is None or not row[0]:
        return None
    url, file_id, urls = row
    return url if not file_id or (urls or {}).get("generated") == "true" else None


def books_with_cover_source(*, limit: int) -> list[str]:
    """Ids of published books whose cover is still to be fetched, most popular first."""
    books = (Book.objects.filter(status="published").exclude(cover_source_url="")
             .filter(Q(cover_file_id__isnull=True) | Q(cover_urls__generated="true"))
             .order_by("-popularity", "id").values_list("id", flat=True))
    return [str(i) for i in books[:limit]]


def books_without_cover(*, source: str) -> list[contracts.BookSummary]:
    """The books an import of ``source`` wrote that have no cover (generated covers' work list)."""
    books = with_cards(Book.objects.filter(external_ids__has_key=source, cover_file_id__isnull=True)
                       .order_by("title", "id"))
    return [contracts.BookSummary(id=str(b.id), title=b.title, language=b.language, access_model=b.access_model,
                                  authors=tuple(c.author.name for c in b.credits.all() if c.role == "author")
                                  or tuple(c.author.name for c in b.credits.all()))
            for b in books]
