"""Ingesting an EPUB: its OPF pre-fills a draft book in the catalogue, its bytes and its cover
are stored (with WebP thumbnails), and reading sync can find it by KOReader's partial MD5."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from coko.domains.catalog import api as catalog_api
from coko.domains.files.contracts import COVER_SIZES
from coko.domains.files.inspection import koreader_partial_md5

from .conftest import assert_nothing_stored, blobs, epub_bytes, image_bytes, model, send, sha256, stored_events

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def mine(api, book_id: str) -> dict:
    books = {b["id"]: b for b in api.get("/books/mine").data}
    return books[book_id]


def fetch(api, url: str, **headers):
    assert url.startswith("/api/v1/files/covers/"), url
    return api.client.get(url, **headers)


@pytest.mark.parametrize("version", [3, 2])
def test_an_epub_becomes_a_draft_book_prefilled_from_its_opf(author, media, version):
    data = epub_bytes(version=version)
    response = send(author, "/files/ingest", data, name="lettre.epub")
    assert response.status_code == 201, response.data
    body = response.data
    assert body["book"]["title"] == "Une si longue lettre" and body["book"]["status"] == "draft"
    assert body["file"]["kind"] == "epub" and body["file"]["sha256"] == sha256(data)
    assert body["file"]["koreader_md5"] == koreader_partial_md5(io.BytesIO(data))

    book = mine(author, body["book"]["id"])
    assert [a["name"] for a in book["authors"]] == ["Mariama Bâ"]  # the illustrator is not an author
    assert book["language"] == "fr"
    assert book["publisher"] == "Nouvelles Éditions Africaines"
    assert book["publication_year"] == 1979
    assert book["description"] == "Une lettre de Ramatoulaye à son amie."  # HTML dropped
    assert book["editions"][0]["isbn13"] == "9782723604666"
    assert book["formats"] == ["epub"]
    assert book["cover"] == body["cover"]["urls"]

    files = catalog_api.book_files(book_id=body["book"]["id"])
    (epub,) = files.formats
    assert (epub.kind, epub.file_id, epub.sha256, epub.size) == ("epub", body["file"]["id"], sha256(data), len(data))
    assert epub.koreader_md5 == body["file"]["koreader_md5"] and epub.media_type == "application/epub+zip"
    assert files.cover_file_id == body["cover"]["file_id"] and files.owner_id == author.user_id


def test_the_epub_and_its_cover_are_stored_and_announced(author, media):
    cover = image_bytes(600, 900)
    data = epub_bytes(cover_image=cover)
    body = send(author, "/files/ingest", data, name="lettre.epub").data
    assert model("StoredObject").objects.count() == 2
    keys = blobs(media)
    assert f"objects/{sha256(data)[:2]}/{sha256(data)[2:4]}/{sha256(data)}" in keys
    assert f"objects/{sha256(cover)[:2]}/{sha256(cover)[2:4]}/{sha256(cover)}" in keys
    assert len([k for k in keys if k.startswith("derivatives/")]) == 3
    assert {(e["kind"], e["sha256"]) for e in stored_events()} == {("epub", sha256(data)), ("image", sha256(cover))}
    assert body["cover"]["file_id"] == str(model("StoredObject").objects.get(sha256=sha256(cover)).id)


def test_cover_thumbnails_are_webp_at_each_width(author, media, reader):
    body = send(author, "/files/ingest", epub_bytes(cover_image=image_bytes(600, 900)), name="l.epub").data
    urls = body["cover"]["urls"]
    assert set(urls) == {"original", *COVER_SIZES}
    for name, width in COVER_SIZES.items():
        response = fetch(reader, urls[name])  # public: no token needed
        assert response.status_code == 200
        assert response["Content-Type"] == "image/webp"
        assert response["Cache-Control"] == "public, max-age=31536000, immutable"
        image = Image.open(io.BytesIO(response.content))
        image.load()
        assert image.format == "WEBP"
        assert image.size == (width, round(900 * width / 600))  # aspect ratio kept
        again = fetch(reader, urls[name], HTTP_IF_NONE_MATCH=response["ETag"])
        assert again.status_code == 304
    original = fetch(reader, urls["original"])
    assert original.status_code == 200 and original["Content-Type"] == "image/jpeg"
    assert b"".join(original.streaming_content) == image_bytes(600, 900)


def test_thumbnails_apply_exif_orientation_and_never_upscale(author):
    # 300x150 pixels stored sideways: EXIF orientation 6 says "rotate 90° clockwise to display"
    body = send(author, "/files/ingest", epub_bytes(cover_image=image_bytes(300, 150, orientation=6)),
                name="l.epub").data
    sizes = {}
    for name in COVER_SIZES:
        response = fetch(author, body["cover"]["urls"][name])
        sizes[name] = Image.open(io.BytesIO(response.content)).size
    assert sizes == {"small": (96, 192), "medium": (150, 300), "large": (150, 300)}


def test_unknown_cover_sizes_are_not_found(author, reader):
    body = send(author, "/files/ingest", epub_bytes(), name="l.epub").data
    url = body["cover"]["urls"]["small"].replace("small.webp", "huge.webp")
    response = fetch(reader, url)
    assert response.status_code == 404 and response.json()["error"]["code"] == "cover_not_found"


def test_an_epub_without_a_cover_makes_a_book_without_one(author, media):
    body = send(author, "/files/ingest", epub_bytes(cover=None), name="l.epub").data
    assert body["cover"] is None
    assert catalog_api.book_files(book_id=body["book"]["id"]).cover_file_id is None
    assert model("StoredObject").objects.count() == 1


def test_a_bad_cover_inside_the_epub_refuses_the_whole_file(author, media):
    bomb = io.BytesIO()
    Image.new("1", (12000, 12000)).save(bomb, format="PNG")
    response = send(author, "/files/ingest", epub_bytes(cover="cover.png", cover_media_type="image/png",
                                                        cover_image=bomb.getvalue()), name="l.epub")
    assert response.status_code == 422
    details = response.data["error"]["details"]
    assert details["reason"] == "epub_cover_invalid" and details["cover"]["reason"] == "image_too_many_pixels"
    assert_nothing_stored(media)
    assert author.get("/books/mine").data == []


def test_an_epub_without_a_title_is_refused(author, media):
    response = send(author, "/files/ingest", epub_bytes(title=None), name="l.epub")
    assert response.status_code == 422
    assert response.data["error"]["details"]["reason"] == "epub_title_missing"
    assert_nothing_stored(media)


def test_only_epubs_are_ingested(author, media):
    response = send(author, "/files/ingest", image_bytes(100, 100), name="book.epub")
    assert response.status_code == 422
    assert response.data["error"]["code"] == "file_kind_not_allowed"
    assert response.data["error"]["details"]["kind"] == "image"
    assert_nothing_stored(media)


def test_readers_cannot_ingest(reader, media):
    response = send(reader, "/files/ingest", epub_bytes(), name="l.epub")
    assert response.status_code == 403
    assert_nothing_stored(media)


def test_the_same_epub_ingested_twice_is_stored_once(author, media):
    data = epub_bytes(identifiers=(("uuid", "urn:uuid:0b9a9bb4-8c1b-4f59-9e3c-9a1f1b2f7c11"),))
    first = send(author, "/files/ingest", data, name="l.epub").data
    second = send(author, "/files/ingest", data, name="l.epub").data
    assert first["book"]["id"] != second["book"]["id"]  # two drafts, one stored file
    assert first["file"]["id"] == second["file"]["id"] and second["file"]["created"] is False
    assert first["cover"]["file_id"] == second["cover"]["file_id"]
    assert model("StoredObject").objects.count() == 2 and model("Derivative").objects.count() == 3
    assert len(stored_events()) == 2


def test_the_catalogue_refusing_a_duplicate_isbn_is_passed_on(author, media):
    data = epub_bytes()
    assert send(author, "/files/ingest", data, name="l.epub").status_code == 201
    again = send(author, "/files/ingest", data, name="l.epub")
    assert again.status_code == 409 and again.data["error"]["code"] == "isbn_taken"
    assert model("StoredObject").objects.count() == 2  # the bytes were stored once, the first time


# --- reading the OPF (no HTTP) -------------------------------------------------------------------------
@pytest.mark.parametrize("version", [3, 2])
def test_the_cover_is_the_one_the_opf_names(version):
    from coko.domains.files.epub import epub_read

    cover = image_bytes(120, 180, "PNG")
    data = epub_bytes(version=version, cover="images/front.png", cover_id="img7", cover_media_type="image/png",
                      cover_image=cover, extra={"OEBPS/images/cover-decoy.jpg": image_bytes(10, 10)})
    content = epub_read(io.BytesIO(data))
    assert content.cover == cover and content.cover_name == "images/front.png"


def test_identifiers_and_dates_as_files_write_them():
    from coko.domains.files.epub import epub_read

    content = epub_read(io.BytesIO(epub_bytes(identifiers=(("x", "urn:isbn:978-2-7236-0466-6"),
                                                           ("x", "https://coko.africa/b/1")),
                                              date="2003", language="wo")))
    assert content.metadata.identifiers == (("isbn", "9782723604666"), ("other", "https://coko.africa/b/1"))
    assert (content.metadata.published, content.metadata.language) == ("2003", "wo")


def test_entity_declarations_in_the_opf_are_refused(author, media):
    from .conftest import opf_bytes

    opf = opf_bytes().replace(b"<package", b'<!DOCTYPE package [<!ENTITY lol "lol">]><package', 1)
    response = send(author, "/files/ingest", epub_bytes(opf=opf), name="l.epub")
    assert response.status_code == 422 and response.data["error"]["details"]["reason"] == "epub_opf_invalid"
    assert_nothing_stored(media)
