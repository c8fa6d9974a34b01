"""A book's files: its owner (or staff) attaches EPUB, PDF or audio formats and sets its cover;
nobody else can, and a refused request stores nothing."""

from __future__ import annotations

import pytest

from coko.domains.catalog import api as catalog_api

from .conftest import assert_nothing_stored, image_bytes, model, mp4_bytes, pdf_bytes, send, sha256

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def new_book(api, **fields) -> str:
    response = api.post("/books", {"title": "Les Bouts de bois de Dieu", "language": "fr",
                                   "authors": ["Ousmane Sembène"], **fields})
    assert response.status_code == 201, response.data
    return response.data["id"]


def test_the_owner_attaches_an_uploaded_pdf(author):
    book_id = new_book(author)
    uploaded = send(author, "/files/uploads", pdf_bytes(), name="bouts.pdf").data
    response = send(author, f"/files/books/{book_id}/formats", None, file_id=uploaded["id"])
    assert response.status_code == 201, response.data
    assert response.data["kind"] == "pdf" and response.data["file"]["id"] == uploaded["id"]
    (pdf,) = catalog_api.book_files(book_id=book_id).formats
    assert (pdf.kind, pdf.file_id, pdf.sha256, pdf.koreader_md5) == ("pdf", uploaded["id"], uploaded["sha256"],
                                                                      uploaded["koreader_md5"])


def test_the_owner_sends_an_audiobook_in_one_request(author):
    book_id = new_book(author)
    data = mp4_bytes()
    response = send(author, f"/files/books/{book_id}/formats", data, name="bouts.m4b")
    assert response.status_code == 201, response.data
    assert response.data["file"]["media_type"] == "audio/mp4" and response.data["file"]["sha256"] == sha256(data)
    assert [f.kind for f in catalog_api.book_files(book_id=book_id).formats] == ["audio"]


def test_an_image_is_not_a_format(author, media):
    book_id = new_book(author)
    response = send(author, f"/files/books/{book_id}/formats", image_bytes(100, 100), name="book.pdf")
    assert response.status_code == 422 and response.data["error"]["code"] == "file_kind_not_allowed"
    assert_nothing_stored(media)


def test_a_file_or_a_file_id_is_required(author):
    book_id = new_book(author)
    response = send(author, f"/files/books/{book_id}/formats", None)
    assert response.status_code == 422 and response.data["error"]["code"] == "file_required"


def test_another_author_cannot_attach_and_nothing_is_stored(author, other_author, media):
    book_id = new_book(author)
    response = send(other_author, f"/files/books/{book_id}/formats", pdf_bytes(), name="x.pdf")
    assert response.status_code == 403 and response.data["error"]["code"] == "book_not_editable"
    cover = send(other_author, f"/files/books/{book_id}/cover", image_bytes(200, 300), name="x.jpg")
    assert cover.status_code == 403
    assert_nothing_stored(media)
    assert catalog_api.book_files(book_id=book_id).formats == ()


def test_staff_attach_to_any_book(author, staff):
    book_id = new_book(author)
    response = send(staff, f"/files/books/{book_id}/formats", pdf_bytes(), name="x.pdf")
    assert response.status_code == 201, response.data
    assert [f.kind for f in catalog_api.book_files(book_id=book_id).formats] == ["pdf"]


def test_an_unknown_book(author, media):
    response = send(author, "/files/books/00000000-0000-4000-8000-000000000000/formats", pdf_bytes(), name="x.pdf")
    assert response.status_code == 404 and response.data["error"]["code"] == "book_not_found"
    assert_nothing_stored(media)


def test_someone_elses_upload_cannot_be_attached_by_id(author, other_author):
    theirs = send(other_author, "/files/uploads", pdf_bytes(), name="theirs.pdf").data
    book_id = new_book(author)
    response = send(author, f"/files/books/{book_id}/formats", None, file_id=theirs["id"])
    assert response.status_code == 404 and response.data["error"]["code"] == "file_not_found"


def test_uploading_the_same_bytes_does_not_make_someone_elses_file_yours(author, other_author):
    # IDOR stepping stone: the bytes of another author's file must not lead to their file's id
    data = pdf_bytes()
    theirs = send(other_author, "/files/uploads", data, name="theirs.pdf").data
    mine = send(author, "/files/uploads", data, name="mine.pdf").data
    book_id = new_book(author)
    response = send(author, f"/files/books/{book_id}/formats", None, file_id=theirs["id"])
    assert response.status_code == 404 and response.data["error"]["code"] == "file_not_found"
    attached = send(author, f"/files/books/{book_id}/formats", None, file_id=mine["id"])
    assert attached.status_code == 201 and attached.data["file"]["id"] == mine["id"] != theirs["id"]


def test_the_owner_sets_the_cover_and_gets_thumbnails(author, reader):
    book_id = new_book(author)
    response = send(author, f"/files/books/{book_id}/cover", image_bytes(480, 720, "PNG"), name="cover.png")
    assert response.status_code == 200, response.data
    cover = response.data["cover"]
    files = catalog_api.book_files(book_id=book_id)
    assert files.cover_file_id == cover["file_id"]
    assert author.get(f"/books/{book_id}").data["cover"] == cover["urls"]
    assert reader.client.get(cover["urls"]["large"]).status_code == 200
    assert model("Derivative").objects.filter(source_id=cover["file_id"]).count() == 3


def test_a_cover_from_an_earlier_upload(author):
    book_id = new_book(author)
    uploaded = send(author, "/files/uploads", image_bytes(300, 450), name="c.jpg").data
    response = send(author, f"/files/books/{book_id}/cover", None, file_id=uploaded["id"])
    assert response.status_code == 200
    assert response.data["cover"] == {"file_id": uploaded["id"], "urls": uploaded["urls"]}
    pdf = send(author, "/files/uploads", pdf_bytes(), name="x.pdf").data
    refused = send(author, f"/files/books/{book_id}/cover", None, file_id=pdf["id"])
    assert refused.status_code == 422 and refused.data["error"]["details"]["kind"] == "pdf"
