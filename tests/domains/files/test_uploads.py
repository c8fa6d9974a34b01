"""Uploads: every file is judged by its bytes; a bad one is refused with a reason and leaves
nothing behind (no row, no blob, no event); good bytes are stored once per content, as one
file per owner."""

from __future__ import annotations

import io
import threading
import zipfile

import pytest
from django.db import connections
from PIL import Image

from coko.domains.files import services
from coko.domains.files.contracts import FILE_KINDS
from coko.platform.services import use_case

from .conftest import (CONTAINER, assert_nothing_stored, blobs, epub_bytes, image_bytes, model, mp3_bytes, mp4_bytes,
                       ogg_opus_bytes, pdf_bytes, send, sha256, stored_events)

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def refused(response, reason: str, status: int = 422) -> dict:
    assert response.status_code == status, response.data
    error = response.data["error"]
    assert error["code"] == "file_invalid", error
    assert error["details"]["reason"] == reason, error
    assert error["message"]
    return error["details"]


# --- good files -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "build", "kind", "media_type"), [
    ("book.epub", lambda: epub_bytes(), "epub", "application/epub+zip"),
    ("book.pdf", pdf_bytes, "pdf", "application/pdf"),
    ("cover.jpg", lambda: image_bytes(300, 450), "image", "image/jpeg"),
    ("cover.png", lambda: image_bytes(300, 450, "PNG"), "image", "image/png"),
    ("cover.webp", lambda: image_bytes(300, 450, "WEBP"), "image", "image/webp"),
    ("chapter.mp3", mp3_bytes, "audio", "audio/mpeg"),
    ("chapter-no-tag.mp3", lambda: mp3_bytes(id3=False), "audio", "audio/mpeg"),
    ("book.m4b", mp4_bytes, "audio", "audio/mp4"),
    ("song.m4a", lambda: mp4_bytes(brand=b"M4A "), "audio", "audio/mp4"),
    ("chapter.opus", ogg_opus_bytes, "audio", "audio/ogg"),
])
def test_accepted_kinds_are_stored_under_their_content_address(author, media, name, build, kind, media_type):
    data = build()
    response = send(author, "/files/uploads", data, name=name)
    assert response.status_code == 201, response.data
    body = response.data
    assert (body["kind"], body["media_type"], body["size"]) == (kind, media_type, len(data))
    digest = sha256(data)
    assert body["sha256"] == digest and body["created"] is True
    key = f"objects/{digest[:2]}/{digest[2:4]}/{digest}"
    assert key in blobs(media)
    assert (media / key).read_bytes() == data
    row = model("StoredObject").objects.get(id=body["id"])
    assert (row.sha256, row.key, str(row.created_by)) == (digest, key, author.user_id)
    assert stored_events() == [{"file_id": body["id"], "kind": kind, "media_type": media_type, "size": len(data),
                                "sha256": digest, "koreader_md5": body["koreader_md5"],
                                "uploaded_by": author.user_id}]


def test_the_name_does_not_matter_only_the_bytes(author):
    response = send(author, "/files/uploads", pdf_bytes(), name="definitely-a-cover.png")
    assert response.status_code == 201
    assert response.data["kind"] == "pdf"


def test_an_uploaded_image_gets_its_thumbnails(author, media):
    response = send(author, "/files/uploads", image_bytes(600, 900), name="cover.jpg")
    assert response.status_code == 201
    assert set(response.data["urls"]) == {"original", "small", "medium", "large"}
    assert sorted(d.name for d in model("Derivative").objects.all()) == ["large", "medium", "small"]
    assert (response.data["width"], response.data["height"]) == (600, 900)


# --- refused: the content is not what it claims -------------------------------------------------------
def test_wrong_magic_with_a_good_name(author, media):
    details = refused(send(author, "/files/uploads", b"Just some text, not a book.\n" * 50, name="book.epub"),
                      "unknown_type")
    assert "epub" in details["allowed"]
    assert_nothing_stored(media)


def test_an_empty_file(author, media):
    refused(send(author, "/files/uploads", b"", name="book.pdf"), "empty")
    assert_nothing_stored(media)


def test_truncated_pdf(author, media):
    data = pdf_bytes()
    refused(send(author, "/files/uploads", data[: len(data) // 2], name="book.pdf"), "pdf_truncated")
    assert_nothing_stored(media)


def test_pdf_with_a_broken_header(author, media):
    refused(send(author, "/files/uploads", b"%PDF-x.y\n" + pdf_bytes()[9:], name="book.pdf"), "pdf_header_invalid")
    assert_nothing_stored(media)


@pytest.mark.parametrize(("build", "reason"), [
    (lambda: epub_bytes(mimetype=None), "epub_mimetype_missing"),
    (lambda: epub_bytes(mimetype=b"application/zip"), "epub_mimetype_invalid"),
    (lambda: epub_bytes(container=None), "epub_container_missing"),
    (lambda: epub_bytes(container=b"<container><rootfiles>"), "epub_container_invalid"),
    (lambda: epub_bytes(container=CONTAINER.replace(b"application/oebps-package+xml", b"text/plain")),
     "epub_rootfile_missing"),
    (lambda: epub_bytes(opf=False), "epub_opf_missing"),
    (lambda: epub_bytes(opf=b"<package xmlns='http://www.idpf.org/2007/opf'><metadata>"), "epub_opf_invalid"),
    (lambda: epub_bytes(opf=b"<html/>"), "epub_opf_invalid"),
    (lambda: b"PK\x03\x04" + b"\x00" * 200, "epub_not_a_zip"),
])
def test_broken_epub_structure(author, media, build, reason):
    refused(send(author, "/files/uploads", build(), name="book.epub"), reason)
    assert_nothing_stored(media)


def test_mimetype_must_be_the_first_entry(author, media):
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(epub_bytes())) as good, zipfile.ZipFile(buffer, "w") as bad:
        for info in reversed(good.infolist()):
            bad.writestr(info, good.read(info))
    details = refused(send(author, "/files/uploads", buffer.getvalue(), name="book.epub"), "epub_mimetype_missing")
    assert details["first_entry"] != "mimetype"
    assert_nothing_stored(media)


@pytest.mark.parametrize("entry", ["../x", "OEBPS/../../etc/passwd", "/etc/passwd", "OEBPS\\..\\evil.xhtml",
                                   "C:/Windows/evil.dll"])
def test_path_traversal_entries(author, media, entry):
    details = refused(send(author, "/files/uploads", epub_bytes(extra={entry: b"<p/>"}), name="book.epub"),
                      "epub_path_traversal")
    assert details["entry"] == entry
    assert_nothing_stored(media)


def test_external_entities_in_the_container_are_refused(author, media):
    xxe = (b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<container xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><rootfiles>'
           b'<rootfile full-path="&x;" media-type="application/oebps-package+xml"/></rootfiles></container>')
    refused(send(author, "/files/uploads", epub_bytes(container=xxe), name="book.epub"), "epub_container_invalid")
    assert_nothing_stored(media)


def test_zip_bomb_a_highly_compressible_big_entry(author, media):
    data = epub_bytes(extra={"OEBPS/filler.xhtml": b"\x00" * (20 * 1024 * 1024)})
    assert len(data) < 200 * 1024  # 20 MiB inside, a few KiB on the wire
    details = refused(send(author, "/files/uploads", data, name="book.epub"), "epub_zip_bomb")
    assert details["entry"] == "OEBPS/filler.xhtml" and details["ratio"] > details["max_ratio"]
    assert_nothing_stored(media)


def test_zip_bomb_total_uncompressed_size(author, media, settings):
    settings.COKO_FILES = {**settings.COKO_FILES, "EPUB_MAX_UNCOMPRESSED_BYTES": 200_000}
    data = epub_bytes(extra={f"OEBPS/part{i}.xhtml": bytes(range(256)) * 200 for i in range(5)})
    details = refused(send(author, "/files/uploads", data, name="book.epub"), "epub_zip_bomb")
    assert details["uncompressed_size"] > details["limit"] == 200_000
    assert_nothing_stored(media)


def test_too_many_entries(author, media, settings):
    settings.COKO_FILES = {**settings.COKO_FILES, "EPUB_MAX_ENTRIES": 5}
    details = refused(send(author, "/files/uploads", epub_bytes(extra={f"OEBPS/{i}.css": b"p{}" for i in range(5)}),
                           name="book.epub"), "epub_too_many_entries")
    assert details["limit"] == 5
    assert_nothing_stored(media)


def test_decompression_bomb_image(author, media):
    buffer = io.BytesIO()
    Image.new("1", (12000, 12000)).save(buffer, format="PNG")  # 144 megapixels in a few KiB
    assert len(buffer.getvalue()) < 1024 * 1024
    details = refused(send(author, "/files/uploads", buffer.getvalue(), name="cover.png"), "image_too_many_pixels")
    assert details["limit"] == 50_000_000
    assert_nothing_stored(media)


def test_pixel_limit_is_a_setting(author, media, settings):
    settings.COKO_FILES = {**settings.COKO_FILES, "IMAGE_MAX_PIXELS": 100 * 100}
    details = refused(send(author, "/files/uploads", image_bytes(101, 100, "PNG"), name="cover.png"),
                      "image_too_many_pixels")
    assert (details["width"], details["height"]) == (101, 100)
    assert_nothing_stored(media)


def test_truncated_jpeg(author, media):
    data = image_bytes(300, 300)
    refused(send(author, "/files/uploads", data[: len(data) // 2], name="cover.jpg"), "image_undecodable")
    assert_nothing_stored(media)


@pytest.mark.parametrize(("data", "reason"), [
    (mp4_bytes(handler=b"vide"), "mp4_not_audio"),
    (mp4_bytes(brand=b"qt  ", compatible=()), "mp4_not_audio"),
    (mp4_bytes()[:-40] + b"\x00\x00\xff\xffjunk", "mp4_invalid"),
    (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"no audio here" * 10, "mp3_no_audio_frame"),
    (b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x08" + b"NotAudio" + b"\x00" * 20, "ogg_not_audio"),
])
def test_audio_that_is_not_audio(author, media, data, reason):
    refused(send(author, "/files/uploads", data, name="chapter.m4a"), reason)
    assert_nothing_stored(media)


# --- size limits ----------------------------------------------------------------------------------
def test_oversized_body_is_refused_before_it_is_read(author, media, settings):
    limits = {"epub": 2000, "pdf": 2000, "image": 2000, "audio": 2000}
    settings.COKO_FILES = {**settings.COKO_FILES, "MAX_BYTES": limits}
    response = send(author, "/files/uploads", b"%PDF-1.7\n" + b"x" * 200_000, name="book.pdf")
    assert response.status_code == 413, response.data
    assert response.data["error"]["code"] == "file_too_large"
    assert response.data["error"]["details"]["size"] > response.data["error"]["details"]["limit"]
    assert_nothing_stored(media)


def test_the_declared_length_alone_is_enough_to_refuse(author, media):
    """The 413 comes from the Content-Length header, before the body is parsed: a body that
    is not even a valid multipart form gets the same answer."""
    response = author.client.generic("POST", "/api/v1/files/uploads", b"--not-multipart--",
                                     content_type="multipart/form-data; boundary=zzz",
                                     CONTENT_LENGTH=str(50 * 1024 ** 3), **author._headers(None))
    assert response.status_code == 413
    assert response.json()["error"]["details"]["size"] == 50 * 1024 ** 3
    assert_nothing_stored(media)


def test_each_kind_has_its_own_limit(author, media, settings):
    data = pdf_bytes()
    settings.COKO_FILES = {**settings.COKO_FILES,
                           "MAX_BYTES": {**settings.COKO_FILES["MAX_BYTES"], "pdf": len(data) - 1}}
    response = send(author, "/files/uploads", data, name="book.pdf")
    assert response.status_code == 413
    assert response.data["error"]["details"] == {"size": len(data), "limit": len(data) - 1, "kind": "pdf"}
    assert_nothing_stored(media)
    assert send(author, "/files/uploads", image_bytes(100, 100), name="c.jpg").status_code == 201


# --- content addressing, one file per owner ---------------------------------------------------------
def test_the_same_bytes_twice_by_one_owner_answer_the_same_file(author, media):
    data = pdf_bytes()
    first = send(author, "/files/uploads", data, name="a.pdf")
    again = send(author, "/files/uploads", data, name="b.pdf")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.data["id"] == again.data["id"] and again.data["created"] is False
    assert model("StoredObject").objects.count() == 1 and len(stored_events()) == 1
    assert [u.filename for u in model("Upload").objects.all()] == ["a.pdf"]


def test_another_owners_identical_upload_is_their_own_file_over_the_same_blob(author, other_author, media):
    # a content-hash oracle and an IDOR stepping stone: the answer must not tell that these
    # bytes were stored already, nor give the first owner's file id
    data = image_bytes(300, 450)
    first = send(author, "/files/uploads", data, name="a.jpg")
    by_other = send(other_author, "/files/uploads", data, name="c.jpg")
    assert (first.status_code, by_other.status_code) == (201, 201)
    assert by_other.data["id"] != first.data["id"] and by_other.data["created"] is True
    assert all(first.data["id"] not in url for url in by_other.data["urls"].values())
    mine, theirs = (model("StoredObject").objects.get(id=r.data["id"]) for r in (first, by_other))
    assert (str(mine.created_by), str(theirs.created_by)) == (author.user_id, other_author.user_id)
    assert mine.key == theirs.key
    assert [str(u.user_id) for u in model("Upload").objects.filter(object=mine)] == [author.user_id]
    assert model("Derivative").objects.count() == 6  # three thumbnails each, their blobs shared
    assert len(blobs(media)) == 4  # the original and three thumbnails, stored once
    assert [e["uploaded_by"] for e in stored_events()] == [author.user_id, other_author.user_id]


def test_a_lost_blob_is_rewritten_by_the_next_upload(author, media):
    data = pdf_bytes()
    first = send(author, "/files/uploads", data, name="a.pdf")
    (media / model("StoredObject").objects.get(id=first.data["id"]).key).unlink()
    assert send(author, "/files/uploads", data, name="a.pdf").status_code == 200
    assert blobs(media) == [model("StoredObject").objects.get().key]


@use_case("files")
def _stored_then_failed(*, data: bytes, user_id: str) -> None:
    """An upload's use case that fails after its blobs and rows were written."""
    with services._blobs_undone_on_failure() as written:
        services._put(services._prepare(fp=io.BytesIO(data), kinds=FILE_KINDS), user_id=user_id, filename="c.jpg",
                      written=written)
        raise RuntimeError("after the blobs")


def test_a_use_case_that_fails_after_writing_its_blob_takes_the_blob_back(author, media):
    with pytest.raises(RuntimeError, match="after the blobs"):
        _stored_then_failed(data=image_bytes(200, 300), user_id=author.user_id)
    assert_nothing_stored(media)


def test_a_failed_upload_never_takes_back_a_blob_another_owners_file_uses(author, other_author, media):
    data = image_bytes(200, 300)
    first = send(author, "/files/uploads", data, name="a.jpg")
    kept = blobs(media)
    with pytest.raises(RuntimeError, match="after the blobs"):
        _stored_then_failed(data=data, user_id=other_author.user_id)
    assert blobs(media) == kept and len(kept) == 4
    assert [str(o.id) for o in model("StoredObject").objects.all()] == [first.data["id"]]
    assert author.client.get(first.data["urls"]["original"]).status_code == 200


def test_two_identical_uploads_at_once_store_one_object(author, media):
    data = image_bytes(400, 600)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def upload():
        try:
            barrier.wait(timeout=10)
            results.append(services.object_store(fp=io.BytesIO(data), user_id=author.user_id, filename="c.jpg"))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert len({r.object.id for r in results}) == 1
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert model("StoredObject").objects.count() == 1
    assert model("Derivative").objects.count() == 3
    assert len(stored_events()) == 1
    assert len(blobs(media)) == 4  # the original and three thumbnails
    assert not [p for p in media.rglob(".partial-*")]


# --- who may upload, how often ---------------------------------------------------------------------
def test_uploading_needs_publish_books(reader, media):
    response = send(reader, "/files/uploads", pdf_bytes(), name="a.pdf")
    assert response.status_code == 403
    assert response.data["error"]["details"] == {"missing_permissions": ["publish_books"], "required_roles": []}
    anonymous = send(type(reader)(), "/files/uploads", pdf_bytes(), name="a.pdf")
    assert anonymous.status_code == 401
    assert_nothing_stored(media)


def test_uploads_are_rate_limited_per_user(author, other_author, settings):
    settings.COKO_FILES = {**settings.COKO_FILES, "UPLOAD_RATE": (2, 3600)}
    assert send(author, "/files/uploads", pdf_bytes("1"), name="1.pdf").status_code == 201
    assert send(author, "/files/uploads", pdf_bytes("2"), name="2.pdf").status_code == 201
    limited = send(author, "/files/uploads", pdf_bytes("3"), name="3.pdf")
    assert limited.status_code == 429
    assert limited.data["error"]["code"] == "rate_limited" and int(limited["Retry-After"]) > 0
    assert model("StoredObject").objects.count() == 2
    assert send(other_author, "/files/uploads", pdf_bytes("3"), name="3.pdf").status_code == 201
