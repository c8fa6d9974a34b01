"""Demo files: every book of the starter catalogue gets a small EPUB that says what it is —
its title page and our description, marked as a Coko demo file, not the book's text — so
that on a new install downloads, OPDS acquisition and KOReader sync can be tried at once.

Run by ``manage.py load_demo_data`` after the catalog's demo (``make run``); idempotent:
books that already have a file are left alone.
"""

from __future__ import annotations

import io
import logging
from html import escape

from ebooklib import epub

from coko.domains.catalog import api as catalog_api
from coko.domains.catalog.contracts import BookSummary

from . import services

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
    return len(books)
