"""A book's life: publish it for readers, withdraw it from them."""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from coko.platform.services import use_case

from .. import contracts, errors
from ..models import Book, BookAuthor
from ._shared import DB, Actor, after_commit, announce, author_counts_refresh, credited_author_ids, editable


def _status_set(book: Book, status: str, event_type: str) -> None:
    """Move a book to ``status``: a new version, its authors' counts, the event, the caches."""
    book.status = status
    book.version = F("version") + 1
    book.save()
    book.refresh_from_db()
    author_counts_refresh(author_ids=credited_author_ids(book.id))
    announce(book, event_type)
    after_commit(book)


@use_case(DB)
def book_publish(*, actor: Actor, book_id) -> Book:
    """Make a draft (or withdrawn book) visible to readers; announces ``book.published``."""
    book = editable(book_id, actor)
    if book.status == "published":
        return book
    missing = []
    if not book.title:
        missing.append("title")
    if not BookAuthor.objects.filter(book=book).exists():
        missing.append("authors")
    if missing:
        raise errors.BOOK_INCOMPLETE(missing=missing)
    book.published_at = book.published_at or timezone.now()
    _status_set(book, "published", contracts.BOOK_PUBLISHED)
    return book


@use_case(DB)
def book_withdraw(*, actor: Actor, book_id, reason: str = "") -> Book:
    """Hide a published book from readers; announces ``book.withdrawn``."""
    book = editable(book_id, actor)
    if book.status != "published":
        raise errors.BOOK_NOT_PUBLISHED(status=book.status)
    _status_set(book, "withdrawn", contracts.BOOK_WITHDRAWN)
    return book
