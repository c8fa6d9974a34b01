"""Issue 11: the starter books have covers on a new install (typographic, drawn by Pillow, marked
as generated), and covers imported from elsewhere are fetched into storage by a job — never
hot-linked: no answer or feed points at the other host. A loopback server plays that host."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

import pytest
from django.core.management import call_command
from PIL import Image

from coko.devtools.testing.loopback import serving, url_of
from coko.domains.catalog import api as catalog_api
from coko.domains.catalog import cache, importing
from coko.domains.catalog.testing import starter_books
from coko.domains.files import covers

from .conftest import image_bytes

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

PNG = image_bytes(300, 450, "PNG")


class _CoverHost(BaseHTTPRequestHandler):
    """``/cover.png`` an image, ``/page`` HTML, ``/big.png`` over the limit, ``/busy`` a 503,
    ``/gone`` a 404."""

    def do_GET(self):  # noqa: N802
        self.server.hits.append(self.path)
        status, media_type, body = {
            "/cover.png": (200, "image/png", PNG),
            "/page": (200, "text/html", b"<html>not a cover</html>"),
            "/big.png": (200, "image/png", PNG + b"\0" * (64 * 1024)),
            "/busy": (503, "text/plain", b"busy"),
        }.get(self.path, (404, "text/plain", b"gone"))
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def host():
    with serving(_CoverHost) as server:
        yield server


def imported(*sources: str) -> list[str]:
    """Books an import wrote with these cover sources (as goodbooks' ``image_url``)."""
    records = [importing.BookRecord(source="test-import", key=f"k{n}", title=f"Imported {n}", authors=["Awa Diop"],
                                    language="fr", published_at=datetime(2024, 1, 1, tzinfo=UTC),
                                    popularity_seed=100 * (len(sources) - n), cover_source_url=source)
               for n, source in enumerate(sources)]
    return [str(i) for i in importing.books_import(records, source="test-import", events=False).book_ids]


def card(client, book_id: str) -> dict:
    cache.catalog_changed()
    return json.loads(client.get(f"/api/v1/books/{book_id}").content)


# --- generated covers ---------------------------------------------------------------------------------
def test_a_generated_cover_shows_title_author_a_colour_of_the_book_and_its_mark():
    data = covers.cover_generate(key="book-1", title="Une si longue lettre", authors=["Mariama Bâ"])
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG" and image.size == covers.SIZE
    background = covers.cover_colour("book-1")
    assert image.getpixel((60, 60)) == background and background in covers.PALETTE
    mark_band = image.crop((100, covers.SIZE[1] - 70, covers.SIZE[0] - 100, covers.SIZE[1] - 35))
    assert len(set(mark_band.getdata())) > 2  # "Coko · generated cover" is drawn there
    assert covers.cover_generate(key="book-1", title="Une si longue lettre", authors=["Mariama Bâ"]) == data
    assert {covers.cover_colour(f"book-{n}") for n in range(40)} == set(covers.PALETTE)  # keyed by the book


def test_every_starter_book_gets_a_generated_cover_once(client):
    out = io.StringIO()
    call_command("load_demo_data", stdout=out)
    books = starter_books()
    assert "generated cover for each of" in out.getvalue()
    shown = card(client, books[0].id)["cover"]
    assert shown["generated"] == "true" and "generated" in shown["alt"].lower()
    assert set(shown) == {"original", "small", "medium", "large", "generated", "alt"}
    assert all(shown[size].startswith("/api/v1/files/covers/") for size in ("original", "small", "medium", "large"))
    thumbnail = client.get(shown["small"])
    assert thumbnail.status_code == 200 and thumbnail["Content-Type"] == "image/webp"
    french = json.loads(client.get(f"/api/v1/books/{books[0].id}", HTTP_ACCEPT_LANGUAGE="fr").content)
    assert "générée" in french["cover"]["alt"]
    cover_ids = {b.id: catalog_api.book_files(book_id=b.id).cover_file_id for b in books}
    assert None not in cover_ids.values() and len(set(cover_ids.values())) == len(books)

    again = io.StringIO()
    call_command("load_demo_data", stdout=again)
    assert "generated cover" not in again.getvalue()
    assert {b.id: catalog_api.book_files(book_id=b.id).cover_file_id for b in books} == cover_ids
    v2 = json.loads(client.get("/opds/v2/new").content)  # OPDS 2.0 images: the stored cover
    assert all("/api/v1/files/covers/" in p["images"][0]["href"] for p in v2["publications"])


# --- fetched covers -------------------------------------------------------------------------------------
@pytest.mark.usefixtures("outbound_loopback")
def test_an_imported_cover_is_fetched_into_storage_not_linked(client, host):
    source = url_of(host, "/cover.png")
    [book_id] = imported(source)
    before = client.get(f"/api/v1/books/{book_id}")
    assert json.loads(before.content)["cover"] is None and b"127.0.0.1" not in before.content
    assert source not in client.get("/api/v1/books?limit=100").content.decode()
    assert source not in client.get("/opds/v2/new").content.decode()

    assert covers.cover_fetch(book_id=book_id) is True
    assert host.hits == ["/cover.png"]
    shown = card(client, book_id)["cover"]
    assert shown["original"].startswith("/api/v1/files/covers/") and "generated" not in shown
    original = client.get(shown["original"])
    assert original.status_code == 200 and b"".join(original.streaming_content) == PNG
    assert catalog_api.book_cover_source(book_id=book_id) is None  # done: nothing more to fetch
    assert covers.cover_fetch(book_id=book_id) is False and host.hits == ["/cover.png"]


@pytest.mark.usefixtures("outbound_loopback")
def test_a_fetched_cover_replaces_a_generated_one(client, host):
    [book_id] = imported(url_of(host, "/cover.png"))
    [summary] = catalog_api.book_summaries(book_ids=[book_id])
    assert covers.cover_generated_set(book=summary) is True
    assert card(client, book_id)["cover"]["generated"] == "true"
    assert covers.cover_fetch(book_id=book_id) is True
    assert "generated" not in card(client, book_id)["cover"]


@pytest.mark.usefixtures("outbound_loopback")
def test_what_is_not_a_cover_is_refused_for_good_and_a_busy_host_retried(client, host, settings):
    settings.COKO_FILES = {**settings.COKO_FILES, "COVER_FETCH_MAX_BYTES": len(PNG) + 1024}
    page, big, gone, busy = imported(*(url_of(host, p) for p in ("/page", "/big.png", "/gone", "/busy")))
    for book_id in (page, big, gone):
        assert covers.cover_fetch(book_id=book_id) is False
        assert card(client, book_id)["cover"] is None
        assert catalog_api.book_cover_source(book_id=book_id) is None  # dropped: not tried again
    with pytest.raises(covers.CoverFetchRetry):
        covers.cover_fetch(book_id=busy)
    assert catalog_api.book_cover_source(book_id=busy) == url_of(host, "/busy")  # kept for the retry
    assert covers.RETRY_STATUSES >= {429, 503}


def test_an_internal_address_is_never_fetched(client, host, settings):
    settings.COKO_OUTBOUND_ALLOWED_HOSTS = []  # loopback is internal: the platform's SSRF guard refuses it
    [book_id] = imported(url_of(host, "/cover.png"))
    assert covers.cover_fetch(book_id=book_id) is False
    assert host.hits == [] and card(client, book_id)["cover"] is None


def test_start_up_queues_a_bounded_number_of_fetches_most_popular_first(redis_client, settings):
    settings.COKO_FILES = {**settings.COKO_FILES, "COVER_FETCHES_AT_START": 2}
    ids = imported(*(f"https://covers.example.org/{n}.jpg" for n in range(5)))
    queue = f"{settings.REDIS_NAMESPACE}:dramatiq:{covers.QUEUE_NAME}"
    before = redis_client.llen(queue)
    out = io.StringIO()
    call_command("load_demo_data", stdout=out)
    assert "2 imported covers queued for fetching" in out.getvalue()
    assert redis_client.llen(queue) == before + 2
    assert catalog_api.books_with_cover_source(limit=2) == ids[:2]  # the most popular first
    more = io.StringIO()
    call_command("covers_fetch", "--limit", "10", stdout=more)
    assert "5 cover fetches queued" in more.getvalue()
    assert redis_client.llen(queue) == before + 7
    redis_client.delete(queue)
