"""The demo files: on a new install every starter book has an EPUB that says what it is, so
downloads and OPDS acquisition work at once — and the demo runs twice without doubling."""

from __future__ import annotations

import io
import zipfile
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_every_starter_book_gets_a_labelled_demo_epub(client):
    out = io.StringIO()
    call_command("load_demo_data", stdout=out)
    books = apps.get_model("catalog", "Book").objects.filter(external_ids__has_key="coko-starter")
    formats = apps.get_model("catalog", "Format").objects.filter(kind="epub")
    assert books.count() >= 50
    assert formats.count() == books.count()
    assert "demo EPUB" in out.getvalue()

    book = books.filter(access_model="free").order_by("title").first()
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
    assert apps.get_model("catalog", "Format").objects.filter(kind="epub").count() == books.count()
    assert "demo EPUB" not in again.getvalue()
