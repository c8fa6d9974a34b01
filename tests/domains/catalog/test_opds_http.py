"""OPDS over HTTP as readers' apps use it: HTTP Basic credentials, exact media types, 304s,
uncompressed bodies for KOReader, cached feeds, and errors apps can show."""

from __future__ import annotations

import base64
import gzip
import json

import pytest
from django.test import Client
from lxml import etree

from coko.devtools.testing.api import PASSWORD, Api
from coko.domains.accounts.testing import user_with_roles
from coko.domains.catalog import cache, selectors, services
from tests.specs.validation import opds1_errors, opds2_feed_errors

from .conftest import book_file, published

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

REALM = 'Basic realm="Coko"'
NAVIGATION = "application/atom+xml;profile=opds-catalog;kind=navigation"
ACQUISITION = "application/atom+xml;profile=opds-catalog;kind=acquisition"
ENTRY = "application/atom+xml;type=entry;profile=opds-catalog"
ATOM = {"atom": "http://www.w3.org/2005/Atom"}


@pytest.fixture
def client() -> Client:
    return Client(REMOTE_ADDR="41.82.212.9")


def member(email: str, *roles: str) -> Api:
    """A registered user whose email and password we know (for HTTP Basic)."""
    return user_with_roles(*roles, email=email, display_name="Awa", ip="41.82.213.10")


def basic(identifier: str, password: str = PASSWORD) -> dict:
    token = base64.b64encode(f"{identifier}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def entry_ids(body: bytes) -> list[str]:
    return [i.removeprefix("urn:uuid:") for i in etree.fromstring(body).xpath("atom:entry/atom:id/text()",
                                                                            namespaces=ATOM)]


def test_media_types_are_exactly_the_ones_opds_names(client, opds_library):
    lettre = opds_library["books"]["lettre"]["id"]
    expected = {
        "/opds/": NAVIGATION, "/opds/categories": NAVIGATION, "/opds/authors": NAVIGATION,
        "/opds/categories/fiction/sections": NAVIGATION,
        "/opds/new": ACQUISITION, "/opds/popular": ACQUISITION, "/opds/categories/poetry": ACQUISITION,
        "/opds/search?q=lettre": ACQUISITION, f"/opds/books/{lettre}": ENTRY,
        "/opds/opensearch.xml": "application/opensearchdescription+xml",
        "/opds/v2/": "application/opds+json", "/opds/v2/new": "application/opds+json",
        "/opds/v2/search?query=lettre": "application/opds+json",
        f"/opds/v2/books/{lettre}": "application/opds-publication+json",
        "/opds/cover-placeholder.png": "image/png",
    }
    for url, content_type in expected.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Type"] == content_type, url


def test_signed_in_readers_browse_the_same_catalogue(client, opds_library):
    """Credentials change nothing in the public feeds: the acquisition links are the same and
    the files domain decides, per reader, when one is followed."""
    reader = member("awa.opds@example.sn")
    for url in ("/opds/new", "/opds/v2/new", "/opds/", f"/opds/books/{opds_library['books']['chants']['id']}"):
        anonymous = client.get(url)
        signed_in = client.get(url, **basic(reader.email))
        assert signed_in.status_code == 200, url
        assert signed_in.content == anonymous.content, url
        assert anonymous["Cache-Control"].startswith("public")
        assert signed_in["Cache-Control"].startswith("private")  # shared caches keep out of it
        assert "Authorization" in signed_in["Vary"] and "Accept-Language" in signed_in["Vary"]


def test_wrong_credentials_get_a_basic_challenge_and_no_hint(client, opds_library):
    reader = member("fatou.opds@example.sn")
    wrong_password = client.get("/opds/new", **basic(reader.email, "not the password"))
    unknown_account = client.get("/opds/new", **basic("nobody.opds@example.sn"))
    for response in (wrong_password, unknown_account):
        assert response.status_code == 401
        assert response["WWW-Authenticate"] == REALM
        assert response["Content-Type"] == "text/plain; charset=utf-8"
        assert response["Cache-Control"] == "no-store"
    assert wrong_password.content == unknown_account.content  # no account enumeration
    for header in ("Basic !!!not-base64", "Basic " + base64.b64encode(b"no-colon-here").decode(),
                   "Basic " + base64.b64encode(b":" + PASSWORD.encode()).decode(), "Digest username=x"):
        response = client.get("/opds/", HTTP_AUTHORIZATION=header)
        assert response.status_code == 401, header
        assert response["WWW-Authenticate"] == REALM
    v2 = client.get("/opds/v2/new", **basic(reader.email, "not the password"))
    assert v2.status_code == 401 and v2["WWW-Authenticate"] == REALM
    assert v2["Content-Type"] == "application/problem+json"
    assert json.loads(v2.content) == {"title": "Unauthorized", "status": 401,
                                      "detail": "These credentials are not valid.", "code": "invalid_credentials"}


def test_bearer_tokens_are_accepted_too(client, opds_library, reader):
    assert client.get("/opds/new", HTTP_AUTHORIZATION=f"Bearer {reader.token}").status_code == 200
    refused = client.get("/opds/new", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert refused.status_code == 401 and "Bearer" in refused["WWW-Authenticate"]


def test_too_many_attempts_are_rate_limited(client, opds_library):
    reader = member("moussa.opds@example.sn")
    statuses = []
    for _ in range(15):
        response = client.get("/opds/", **basic(reader.email, "guess"))
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[0] == 401 and statuses[-1] == 429, statuses
    assert int(response["Retry-After"]) > 0
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    # locked out: even the right password waits (no way round the lockout)
    assert client.get("/opds/", **basic(reader.email)).status_code == 429


def test_the_shelf_is_the_readers_own_books_not_the_books_they_manage(client, opds_library, author):
    """Issue 11: /opds/shelf listed the books a user *manages* (an author's); it is the books a
    reader put on their shelf (PUT /api/v1/me/shelf/{id}), the last put there first."""
    for url in ("/opds/shelf", "/opds/v2/shelf"):
        response = client.get(url)
        assert response.status_code == 401 and response["WWW-Authenticate"] == REALM

    books = opds_library["books"]
    reader = member("khady.opds@example.sn")
    empty = client.get("/opds/v2/shelf", **basic(reader.email))
    assert empty.status_code == 200 and opds2_feed_errors(json.loads(empty.content)) == []
    assert "publications" not in json.loads(empty.content)

    for key in ("sans_fichier", "things", "lettre"):  # a book without a file is no catalog entry
        assert reader.put(f"/me/shelf/{books[key]['id']}").status_code == 204
    shelf = client.get("/opds/shelf", **basic(reader.email))
    assert shelf.status_code == 200 and shelf["Content-Type"] == ACQUISITION
    assert opds1_errors(shelf.content) == []
    assert entry_ids(shelf.content) == [books["lettre"]["id"], books["things"]["id"]]
    assert shelf["Cache-Control"] == "private, no-cache"
    v2 = json.loads(client.get("/opds/v2/shelf", **basic(reader.email)).content)
    assert opds2_feed_errors(v2) == []
    assert [p["metadata"]["identifier"] for p in v2["publications"]] == [
        f"urn:uuid:{books['lettre']['id']}", f"urn:uuid:{books['things']['id']}"]

    # the author who manages every book of the library has put none on their shelf
    by_token = client.get("/opds/shelf", HTTP_AUTHORIZATION=f"Bearer {author.token}")
    assert by_token.status_code == 200 and entry_ids(by_token.content) == []

    # pages: one book a page, next and previous links
    first = client.get("/opds/shelf?limit=1", **basic(reader.email))
    assert entry_ids(first.content) == [books["lettre"]["id"]]
    following = [link.get("href") for link in etree.fromstring(first.content).xpath(
        "atom:link[@rel='next']", namespaces=ATOM)]
    second = client.get(following[0].removeprefix("http://testserver"), **basic(reader.email))
    assert entry_ids(second.content) == [books["things"]["id"]]


def test_unchanged_feeds_answer_304_until_the_catalogue_changes(client, opds_library, author):
    lettre = opds_library["books"]["lettre"]["id"]
    for url in ("/opds/", "/opds/new", "/opds/v2/new", f"/opds/books/{lettre}", f"/opds/v2/books/{lettre}"):
        first = client.get(url)
        assert first.status_code == 200 and first["ETag"], url
        again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
        assert again.status_code == 304 and again.content == b"", url
    before = client.get("/opds/new")
    author.patch(f"/books/{lettre}", {"title": "So Long a Letter"})
    after = client.get("/opds/new", HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and b"So Long a Letter" in after.content
    assert after["ETag"] != before["ETag"]


def test_koreader_gets_an_uncompressed_body(client, opds_library):
    """KOReader's OPDS browser sends ``Accept-Encoding: identity``: no gzip then; clients that
    ask for gzip get it."""
    reader = member("ibou.opds@example.sn")
    plain = client.get("/opds/new", HTTP_ACCEPT_ENCODING="identity", **basic(reader.email))
    assert plain.status_code == 200 and not plain.has_header("Content-Encoding")
    assert opds1_errors(plain.content) == []
    zipped = client.get("/opds/new", HTTP_ACCEPT_ENCODING="gzip", **basic(reader.email))
    assert zipped["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.content) == plain.content


def test_feeds_are_built_once_until_the_catalogue_listings_change(client, opds_library, monkeypatch):
    calls = []
    real = selectors.book_page
    monkeypatch.setattr(selectors, "book_page", lambda **kw: calls.append(kw) or real(**kw))
    client.get("/opds/popular")
    built = len(calls)
    assert built >= 1
    for _ in range(3):
        assert client.get("/opds/popular").status_code == 200
    assert len(calls) == built  # served from the cache
    services.book_stats_set(book_id=opds_library["books"]["lettre"]["id"], rating_average=4.5, rating_count=2)
    client.get("/opds/popular")
    assert len(calls) == built  # a rating changes that book's entries only: the page lives on
    cache.listings_changed()  # a book published, edited or withdrawn, a collection …
    client.get("/opds/popular")
    assert len(calls) > built


def test_only_reads_and_plain_errors(client, opds_library):
    assert client.post("/opds/new").status_code == 405
    head = client.head("/opds/new")
    assert head.status_code == 200 and head["Content-Type"] == ACQUISITION
    missing = client.get("/opds/categories/no-such-category")
    assert missing.status_code == 404
    assert missing["Content-Type"] == "text/plain; charset=utf-8"  # not the /api/ JSON envelope
    assert missing.content == b"There is no such category.\n"


def test_a_database_outage_is_a_503_the_app_can_retry(client, opds_library, monkeypatch):
    from django.db import OperationalError

    def down(**kwargs):
        raise OperationalError("the catalog database is gone")

    monkeypatch.setattr(selectors, "book_page", down)
    for url, content_type in (("/opds/popular", "text/plain; charset=utf-8"),
                              ("/opds/v2/popular", "application/problem+json")):
        response = client.get(url)
        assert response.status_code == 503 and response["Content-Type"] == content_type
        assert b"gone" not in response.content  # no internals
