"""Downloads go through short-lived signed links, handed out only to those who may read the
book: anyone for a published free book; its owner and staff always; a reader who bought it or
holds a pass for a subscription book (payments' entitlements, ``services.download_allowed``);
nobody else. A link names nobody in a readable form, and is refused to another account that
sends its credentials."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.utils import timezone
from django.utils.http import content_disposition_header

from coko.domains.accounts.testing import signed_in_again
from coko.domains.files import services
from coko.domains.files.testing import epub_ingested
from coko.domains.payments.testing import book_bought, pass_paid, plan_for_test, sellable_books_sync

from .conftest import PASSWORD, epub_bytes, pdf_bytes, send

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def published_book(author, data: bytes, *, publish: bool = True, **fields) -> str:
    book_id = epub_ingested(author, data=data)["book"]["id"]
    if fields:
        assert author.call("patch", f"/books/{book_id}", fields).status_code == 200
    if publish:
        response = author.post(f"/books/{book_id}/publish")
        assert response.status_code == 200, response.data
    return book_id


def link(api, book_id: str, fmt: str = "epub"):
    return api.get(f"/files/books/{book_id}/download?format={fmt}")


def follow(api, url: str):
    parts = urlsplit(url)
    assert parts.netloc == "testserver", url
    return api.client.get(parts.path)


def test_a_reader_downloads_a_free_published_book(author, reader):
    data = epub_bytes()
    book_id = published_book(author, data, title="Une si longue lettre", authors=["Mariama Bâ"])
    response = link(reader, book_id)
    assert response.status_code == 200, response.data
    assert response.data["url"].startswith("http://testserver/api/v1/files/download/")
    expires_at = timezone.datetime.fromisoformat(response.data["expires_at"])
    assert timedelta(minutes=4) < expires_at - timezone.now() <= timedelta(minutes=5)
    file = follow(reader, response.data["url"])
    assert file.status_code == 200
    assert b"".join(file.streaming_content) == data
    assert file["Content-Type"] == "application/epub+zip"
    # named as readers' shelves name books (RFC 6266's filename* for the accented name)
    assert file["Content-Disposition"] == content_disposition_header(True, "Mariama Bâ - Une si longue lettre.epub")
    assert file["Content-Length"] == str(len(data))
    assert "no-store" in file["Cache-Control"]


def test_a_book_for_sale_is_refused_to_a_reader(author, reader):
    book_id = published_book(author, epub_bytes(), access_model="sale", price_amount=2500, price_currency="XOF")
    response = link(reader, book_id)
    assert response.status_code == 403
    assert response.data["error"]["code"] == "download_not_allowed"
    assert response.data["error"]["details"]["access_model"] == "sale"


def test_a_reader_who_bought_a_book_downloads_it(author, reader):
    book_id = published_book(author, epub_bytes(), access_model="sale", price_amount=2500, price_currency="XOF")
    sellable_books_sync()
    assert link(reader, book_id).status_code == 403
    book_bought(user_id=reader.user_id, book_id=book_id)
    response = link(reader, book_id)
    assert response.status_code == 200, response.data
    assert follow(reader, response.data["url"]).status_code == 200


def test_a_pass_opens_the_subscription_books_to_download_until_it_ends(author, reader, clock):
    book_id = published_book(author, epub_bytes(), access_model="subscription")
    sellable_books_sync()
    assert link(reader, book_id).data["error"]["code"] == "download_not_allowed"
    plan_for_test("week")
    pass_paid(user_id=reader.user_id, plan_slug="week")
    assert link(reader, book_id).status_code == 200
    clock.advance(7 * 86400 + 1)
    reader = signed_in_again(reader)  # a week later: a new access token
    assert link(reader, book_id).data["error"]["code"] == "download_not_allowed"


def test_the_owner_and_staff_always_download(author, staff):
    data = epub_bytes()
    book_id = published_book(author, data, access_model="sale", price_amount=2500, price_currency="XOF")
    for api in (author, staff):
        response = link(api, book_id)
        assert response.status_code == 200, response.data
        assert b"".join(follow(api, response.data["url"]).streaming_content) == data


def test_a_draft_is_not_downloadable_by_readers(author, reader):
    book_id = published_book(author, epub_bytes(), publish=False)
    assert link(reader, book_id).status_code == 403
    assert link(author, book_id).status_code == 200


def test_a_missing_format_or_book(author, reader):
    book_id = published_book(author, epub_bytes())
    response = link(reader, book_id, "pdf")
    assert response.status_code == 404
    assert response.data["error"]["details"] == {"format": "pdf", "available": ["epub"]}
    assert link(reader, "00000000-0000-4000-8000-000000000000").status_code == 404
    assert link(type(reader)(), book_id).status_code == 401


def test_the_link_points_at_the_requested_format(author, reader):
    book_id = published_book(author, epub_bytes())
    pdf = pdf_bytes()
    assert send(author, f"/files/books/{book_id}/formats", pdf, name="book.pdf").status_code == 201
    response = link(reader, book_id, "pdf")
    file = follow(reader, response.data["url"])
    assert b"".join(file.streaming_content) == pdf and file["Content-Type"] == "application/pdf"


def test_a_tampered_token_is_refused(author, reader):
    book_id = published_book(author, epub_bytes())
    url = link(reader, book_id).data["url"]
    token = urlsplit(url).path.rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    response = reader.client.get(f"/api/v1/files/download/{forged}")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "download_token_invalid"
    _payload, _, signature = token.partition(":")
    other = services.download_token_make(object_id="00000000-0000-4000-8000-000000000000", user_id=reader.user_id,
                                         book_id=book_id, filename="x.epub")[0]
    spliced = other.split(":", 1)[0] + ":" + signature  # another grant under this link's signature
    assert reader.client.get(f"/api/v1/files/download/{spliced}").status_code == 403


def test_an_expired_token_is_gone(author, reader):
    book_id = published_book(author, epub_bytes())
    file_id = send(author, "/files/uploads", epub_bytes(), name="b.epub").data["id"]
    token, expires_at = services.download_token_make(object_id=file_id, user_id=reader.user_id, book_id=book_id,
                                                     filename="b.epub", now=timezone.now() - timedelta(minutes=6))
    assert expires_at < timezone.now()
    response = reader.client.get(f"/api/v1/files/download/{token}")
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "download_expired"
    fresh, _ = services.download_token_make(object_id=file_id, user_id=reader.user_id, book_id=book_id,
                                            filename="b.epub")
    assert reader.client.get(f"/api/v1/files/download/{fresh}").status_code == 200


# --- readers' apps (OPDS acquisition links): Bearer, HTTP Basic or nobody --------------------------
def acquire(client, book_id: str, fmt: str = "epub", **headers):
    return client.get(f"/api/v1/files/books/{book_id}/file/{fmt}", **headers)


def basic(email: str, password: str = PASSWORD) -> dict:
    token = base64.b64encode(f"{email}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def test_an_app_gets_a_free_book_without_signing_in(author, client):
    data = epub_bytes()
    book_id = published_book(author, data)
    response = acquire(client, book_id)
    assert response.status_code == 302
    file = client.get(urlsplit(response["Location"]).path)
    assert b"".join(file.streaming_content) == data


def test_an_app_is_asked_for_basic_credentials_for_a_book_it_may_not_have(author, reader, client):
    book_id = published_book(author, epub_bytes(), access_model="sale", price_amount=2500, price_currency="XOF")
    anonymous = acquire(client, book_id)
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith('Basic realm="Coko"')
    wrong = acquire(client, book_id, **basic(reader.email, "not the password"))
    assert wrong.status_code == 401 and wrong["WWW-Authenticate"].startswith("Basic")
    unknown = acquire(client, book_id, **basic("nobody@example.sn", "not the password"))
    assert unknown.status_code == 401 and unknown.json() == wrong.json()  # no enumeration
    signed_in = acquire(client, book_id, **basic(reader.email))
    assert signed_in.status_code == 403  # who they are is known; the right is not there
    owner = acquire(client, book_id, **basic(author.email))
    assert owner.status_code == 302


def test_an_app_with_a_bearer_token_follows_the_same_rules(author, reader, client):
    book_id = published_book(author, epub_bytes())
    response = acquire(client, book_id, HTTP_AUTHORIZATION=f"Bearer {reader.token}")
    assert response.status_code == 302
    assert acquire(client, book_id, "pdf", HTTP_AUTHORIZATION=f"Bearer {reader.token}").status_code == 404


def test_downloads_are_never_gzipped(author, client):
    data = epub_bytes()
    book_id = published_book(author, data)
    location = acquire(client, book_id)["Location"]
    file = client.get(urlsplit(location).path, HTTP_ACCEPT_ENCODING="gzip")
    assert not file.has_header("Content-Encoding")
    assert b"".join(file.streaming_content) == data


# --- a link names nobody, and is bound to the account it was made for ------------------------------
def spellings(user_id: str) -> set[str]:
    """A user id as it could leak: plain, hex, base64 (of its text and of its 16 bytes)."""
    as_uuid = uuid.UUID(user_id)
    forms = {user_id, as_uuid.hex, user_id.encode().hex()}
    for raw in (user_id.encode(), as_uuid.bytes):
        forms |= {base64.b64encode(raw).decode().rstrip("="), base64.urlsafe_b64encode(raw).decode().rstrip("=")}
    return {form.lower() for form in forms}


def test_a_link_does_not_carry_the_user_id_in_any_spelling(author, reader):
    book_id = published_book(author, epub_bytes())
    url = link(reader, book_id).data["url"]
    token = urlsplit(url).path.rsplit("/", 1)[1]
    claims = signing.loads(token, salt=services.DOWNLOAD_SALT)  # what anyone can decode from the link
    readable = f"{url} {json.dumps(claims)}".lower()
    assert [form for form in spellings(reader.user_id) if form in readable] == []
    now = timezone.now()
    two = [signing.loads(services.download_token_make(object_id=claims["o"], user_id=reader.user_id,
                                                      book_id=book_id, filename="b.epub", now=at)[0],
                         salt=services.DOWNLOAD_SALT) for at in (now, now + timedelta(seconds=1))]
    assert two[0]["h"] != two[1]["h"]  # two links of one reader bear no common mark


def test_a_link_is_refused_to_another_account_that_sends_its_credentials(author, reader, other_reader):
    data = epub_bytes()
    book_id = published_book(author, data)
    path = urlsplit(link(reader, book_id).data["url"]).path
    for credentials in ({"HTTP_AUTHORIZATION": f"Bearer {other_reader.token}"}, basic(other_reader.email)):
        refused = reader.client.get(path, **credentials)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "download_not_yours"
    for credentials in ({"HTTP_AUTHORIZATION": f"Bearer {reader.token}"}, basic(reader.email), {}):
        served = reader.client.get(path, **credentials)  # their own token, or none (an e-reader)
        assert served.status_code == 200
        assert b"".join(served.streaming_content) == data


def test_an_app_following_its_acquisition_link_with_its_credentials_gets_the_file(author, reader, other_reader,
                                                                                  client):
    data = epub_bytes()
    book_id = published_book(author, data)
    location = urlsplit(acquire(client, book_id, **basic(reader.email))["Location"]).path
    assert b"".join(client.get(location, **basic(reader.email)).streaming_content) == data
    assert client.get(location, **basic(other_reader.email)).status_code == 403
    anonymous = urlsplit(acquire(client, book_id)["Location"]).path  # made for nobody: anyone may follow it
    assert client.get(anonymous, HTTP_AUTHORIZATION=f"Bearer {other_reader.token}").status_code == 200


def test_a_sent_credential_is_checked_even_on_a_link(author, reader):
    path = urlsplit(link(reader, published_book(author, epub_bytes())).data["url"]).path
    response = reader.client.get(path, HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401
