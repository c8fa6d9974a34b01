"""Demo files: every book of the starter catalogue gets a small EPUB that says what it is —
its title page and our description, marked as a Coko demo file, not the book's text — so
that on a new install downloads, OPDS acquisition and KOReader sync can be tried at once.

Every starter book without a cover gets a generated typographic cover (``covers``, marked
as generated on the image and in the catalogue's answers). Imported books whose cover is
elsewhere (goodbooks' ``image_url``) have at most ``COKO_FILES['COVER_FETCHES_AT_START']`` of
their covers queued for fetching at start-up, most popular first: ``make run`` never sends
ten thousand requests to another host at once; ``manage.py covers_fetch`` queues more.

Run by ``manage.py load_demo_data`` after the catalog's demo (``make run``); idempotent:
books that already have a file (a cover) are left alone.
"""

from __future__ import annotations

import io
import logging
from html import escape

from django.conf import settings
from ebooklib import epub

from coko.domains.catalog import api as catalog_api
from coko.domains.catalog.contracts import BookSummary

from . import covers, services

NOTICE = {
    "fr": "Fichier de démonstration de Coko : le texte de ce livre n'en fait pas partie.",
    "en": "Coko demo file: the text of this book is not included.",
}


def demo_epub(book: BookSummary) -> bytes:
    """An EPUB 3 of one page about ``book``."""
    document = epub.EpubBook()
    document.set_identifier(f"urn:uuid:{book.id}")
    document.set_title(book.title)
    document.set_language(book.language)
    for name in book.authors:
        document.add_author(name)
    document.add_metadata("DC", "description", book.description or book.title)
    notice = NOTICE.get(book.language, NOTICE["en"])
    page = epub.EpubHtml(title=book.title, file_name="about.xhtml", lang=book.language)
    page.content = (f"<h1>{escape(book.title)}</h1><p>{escape(', '.join(book.authors))}</p>"
                    f"<p>{escape(book.description)}</p><p><em>{escape(notice)}</em></p>")
    document.add_item(page)
    document.toc = (page,)
    document.add_item(epub.EpubNcx())
    document.add_item(epub.EpubNav())
    document.spine = ["nav", page]
    out = io.BytesIO()
    epub.write_epub(out, document)
    return out.getvalue()


def load(*, stdout) -> int:
    books = catalog_api.starter_books_without_files()
    quiet = logging.getLogger("coko.files")  # one summary line below, not one per demo file
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        for book in books:
            stored = services.object_store(fp=io.BytesIO(demo_epub(book)), user_id=None,
                                           filename=f"{book.id}.epub", kinds=("epub",))
            catalog_api.book_format_attach_trusted(book_id=book.id, file=services.format_file(stored.object))
    finally:
        quiet.setLevel(level)
    if books:
        stdout.write(f"files: a demo EPUB for each of {len(books)} starter books")
    drawn = _generated_covers()
    if drawn:
        stdout.write(f"files: a generated cover for each of {drawn} starter books")
    queued = covers.cover_fetches_enqueue(limit=settings.COKO_FILES["COVER_FETCHES_AT_START"])
    if queued:
        stdout.write(f"files: {queued} imported covers queued for fetching (manage.py covers_fetch queues more)")
    return len(books) + drawn


def _generated_covers() -> int:
    quiet = logging.getLogger("coko.files")
    level = quiet.level
    quiet.setLevel(logging.WARNING)
    try:
        return sum(covers.cover_generated_set(book=book)
                   for book in catalog_api.starter_books_without_cover())
    finally:
        quiet.setLevel(level)
