"""The demo files: on a new install every starter book has an EPUB that says what it is, so
downloads and OPDS acquisition work at once — and the demo runs twice without doubling."""

from __future__ import annotations

import io
import logging
import zipfile
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command

from coko.domains.catalog import api as catalog
from coko.domains.catalog.testing import starter_books

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def epubs(book_id: str) -> int:
    """How many EPUB files the catalog lists for this book."""
    return sum(f.kind == "epub" for f in catalog.book_files(book_id=book_id).formats)


def test_every_starter_book_gets_a_labelled_demo_epub(client, caplog):
    out = io.StringIO()
    with caplog.at_level(logging.INFO):
        call_command("load_demo_data", stdout=out)
    # start-up says what it did in a line per domain, not a line per demo file
    assert [r for r in caplog.records if r.name == "coko.files" and r.levelno < logging.WARNING] == []
    assert logging.getLogger("coko.files").level == logging.NOTSET  # and leaves logging as it was
    books = starter_books()
    assert len(books) >= 50
    assert [b.title for b in books if epubs(b.id) != 1] == []  # one EPUB each
    assert catalog.starter_books_without_files() == []
    assert "demo EPUB" in out.getvalue()

    book = next(b for b in books if b.access_model == "free")  # the first by title
    feed = client.get("/opds/new", HTTP_ACCEPT_ENCODING="identity")
    assert feed.status_code == 200 and str(book.id).encode() in feed.content  # an OPDS entry now
    response = client.get(f"/api/v1/files/books/{book.id}/file/epub")
    assert response.status_code == 302
    data = b"".join(client.get(urlsplit(response["Location"]).path).streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist()[0] == "mimetype"
        page = next(archive.read(n) for n in archive.namelist() if n.endswith("about.xhtml")).decode()
    assert book.title.replace("'", "&#x27;") in page or book.title in page
    assert "Coko" in page and ("demo file" in page or "démonstration" in page)

    again = io.StringIO()
    call_command("load_demo_data", stdout=again)
    assert [b.id for b in starter_books()] == [b.id for b in books]
    assert [b.title for b in books if epubs(b.id) != 1] == []  # still one each, not two
    assert "demo EPUB" not in again.getvalue()
