"""One book: its page (published, one statement), its editor's view (any status), who manages
it, and its files (for the files domain)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from .. import contracts
from ..models import Book, BookAuthor, Format
from .cards import book_full, with_everything
from .full import books_full


def book_detail(*, book_id, lang: str = "en") -> dict | None:
    """A published book, whole; ``None`` if there is none (or it is not published).

    One statement (the reader's hottest uncached read): ``full.books_full`` of one id."""
    found = books_full(book_ids=[book_id], lang=lang)
    return found[0] if found else None


def book_for_editor(*, book_id, lang: str = "en") -> dict | None:
    """A book in any status, for its owner and staff."""
    book = with_everything(Book.objects.filter(id=book_id)).first()
    return book_full(book, lang=lang) if book else None


def book_owner(*, book_id) -> str | None:
    """The accounts user who manages a book (any status), or ``None``."""
    try:
        owner = Book.objects.filter(id=book_id).values_list("owner_id", flat=True).first()
    except ValidationError:  # not a UUID
        return None
    return str(owner) if owner else None


def book_files(*, book_id) -> contracts.BookFiles | None:
    """A book's access model and stored files (any status)."""
    try:
        book = Book.objects.filter(id=book_id).first()
    except ValidationError:  # not a UUID
        return None
    if book is None:
        return None
    formats = Format.objects.filter(edition__book=book).order_by("kind", "-created_at")
    authors = BookAuthor.objects.filter(book=book, role="author").order_by("position")
    return contracts.BookFiles(
        book_id=str(book.id), status=book.status, access_model=book.access_model,
        price_amount=book.price_amount, price_currency=book.price_currency,
        owner_id=str(book.owner_id) if book.owner_id else None,
        formats=tuple(contracts.FormatFile(kind=f.kind, file_id=str(f.file_id), media_type=f.media_type,
                                           size=f.size, sha256=f.sha256, koreader_md5=f.koreader_md5)
                      for f in formats),
        cover_file_id=str(book.cover_file_id) if book.cover_file_id else None,
        title=book.title, authors=tuple(credit.author.name for credit in authors.select_related("author")),
    )
