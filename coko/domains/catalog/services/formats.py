"""A book's files and cover, as the files domain stored them."""

from __future__ import annotations

from coko.platform.services import use_case

from .. import contracts, errors
from ..models import Book, Format
from ._shared import DB, Actor, editable, first_edition, touched


def format_attach(book: Book, file: contracts.FormatFile) -> None:
    """Attach (or replace) one format of the book's first edition (inside a use case)."""
    if file.kind not in contracts.FORMAT_KINDS:
        raise errors.INVALID_FORMAT(kind=file.kind)
    Format.objects.update_or_create(edition=first_edition(book), kind=file.kind, defaults={
        "file_id": file.file_id, "media_type": file.media_type, "size": file.size,
        "sha256": file.sha256, "koreader_md5": file.koreader_md5})
    touched(book)


def cover_set(book: Book, cover: contracts.Cover) -> None:
    """Set the book's cover (inside a use case). A real cover ends any fetch of an imported
    one (``cover_source_url``); a generated one is marked so, and a fetched cover replaces it."""
    book.cover_file_id = cover.file_id
    book.cover_urls = {**cover.urls, "generated": "true"} if cover.generated else dict(cover.urls)
    if not cover.generated:
        book.cover_source_url = ""
    book.save(update_fields=["cover_file_id", "cover_urls", "cover_source_url", "updated_at"])
    touched(book)


@use_case(DB)
def book_format_attach(*, actor: Actor, book_id, file: contracts.FormatFile) -> None:
    """Attach (or replace) one format of the book's first edition."""
    format_attach(editable(book_id, actor), file)


@use_case(DB)
def book_format_attach_trusted(*, book_id, file: contracts.FormatFile) -> None:
    """Attach a file with no actor to check: for trusted jobs only (the demo files)."""
    book = Book.objects.select_for_update().filter(id=book_id).first()
    if book is None:
        raise errors.BOOK_NOT_FOUND(book_id=str(book_id))
    format_attach(book, file)


@use_case(DB)
def book_cover_set_trusted(*, book_id, cover: contracts.Cover, replace: bool = True) -> bool:
    """Set a cover with no actor to check: for trusted jobs only (generated covers, covers
    fetched from an import's source). ``replace=False`` leaves a book that has a cover alone.
    Whether the cover was set."""
    book = Book.objects.select_for_update().filter(id=book_id).first()
    if book is None:
        raise errors.BOOK_NOT_FOUND(book_id=str(book_id))
    if book.cover_file_id and not replace:
        return False
    cover_set(book, cover)
    return True


@use_case(DB)
def book_cover_source_drop(*, book_id) -> None:
    """Forget where an imported cover was to come from (its fetch failed for good)."""
    Book.objects.filter(id=book_id).update(cover_source_url="")


@use_case(DB)
def book_cover_set(*, actor: Actor, book_id, cover: contracts.Cover) -> None:
    """Set the book's cover (the files domain made the thumbnails)."""
    cover_set(editable(book_id, actor), cover)
