"""Factories other domains' tests use to get books: published, with a file, through the
catalog's HTTP API and facade (never its services or models)::

    from coko.domains.catalog.testing import published_book, book_with_file

    book = published_book(title="Une si longue lettre")      # the API's book dict
    book = book_with_file(kind="epub")                       # … and an EPUB attached
    books = starter_books()                                  # what load_demo_data loaded
    collection_with_books("rentree", [book["id"]])           # staff's collection (announced)
"""

from __future__ import annotations

import hashlib
import uuid

from coko.devtools.testing.api import Api
from coko.domains.accounts.testing import user_with_roles

from . import api, contracts
from .models import Book

MEDIA_TYPES = {"epub": "application/epub+zip", "pdf": "application/pdf", "audio": "audio/mpeg"}


def book_body(**fields) -> dict:
    """A valid ``POST /books`` body (French, one author), ``fields`` overriding."""
    return {"title": "Une si longue lettre", "language": "fr", "authors": ["Mariama Bâ"],
            "description": "Ramatoulaye écrit à son amie Aïssatou.", **fields}


def published_book(author: Api | None = None, **fields) -> dict:
    """A book created and published by ``author`` (a new author if ``None``): the API's book dict."""
    author = author or user_with_roles("author")
    created = author.post("/books", book_body(**fields))
    if created.status_code != 201:
        raise AssertionError(f"creating a book failed: {created.status_code} {created.data}")
    done = author.post(f"/books/{created.data['id']}/publish")
    if done.status_code != 200:
        raise AssertionError(f"publishing a book failed: {done.status_code} {done.data}")
    return done.data


def file_attach(author: Api, book_id: str, kind: str = "epub", *, size: int = 250_000) -> contracts.FormatFile:
    """Attach a stored file (a made-up file id) to a book, as the files domain does after an upload."""
    file_id = str(uuid.uuid4())
    file = contracts.FormatFile(kind=kind, file_id=file_id, media_type=MEDIA_TYPES[kind], size=size,
                                sha256=hashlib.sha256(file_id.encode()).hexdigest())
    api.book_format_attach(actor_id=author.user_id, book_id=book_id, file=file)
    return file


def book_with_file(author: Api | None = None, kind: str = "epub", **fields) -> dict:
    """A published book with one file of ``kind`` attached (the API's book dict, before the file)."""
    author = author or user_with_roles("author")
    book = published_book(author, **fields)
    file_attach(author, book["id"], kind)
    return book


def starter_books() -> list[contracts.BookSummary]:
    """Every book of the starter catalogue (what ``load_demo_data`` loads), by title, any status.

    For tests of the demo data; each book's files come from ``api.book_files(book_id=...)``.
    """
    books = Book.objects.filter(external_ids__has_key="coko-starter").order_by("title", "id")
    return [contracts.BookSummary(id=str(b.id), title=b.title, language=b.language,
                                  access_model=b.access_model, description=b.description) for b in books]


def collection_with_books(slug: str, book_ids: list, *, name: str = "") -> str:
    """The collection ``slug`` with ``book_ids`` added at its end (created if missing), as staff
    make it in the console (no route writes collections): announced with ``collection.changed``.
    Its id."""
    from . import services

    collection, _created = services.collection_ensure(slug=slug, name=name or slug.title())
    services.collection_books_add(slug=slug, book_ids=book_ids)
    return str(collection.id)


def collection_without_books(slug: str, book_ids: list) -> int:
    """Take ``book_ids`` out of the collection ``slug`` (announced); how many were in it."""
    from . import services

    return services.collection_books_remove(slug=slug, book_ids=book_ids)


__all__ = ["MEDIA_TYPES", "book_body", "book_with_file", "collection_with_books", "collection_without_books",
           "file_attach", "published_book", "starter_books"]
