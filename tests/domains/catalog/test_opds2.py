"""OPDS 2.0 feeds at /opds/v2/: the same catalogue as JSON, valid against the official OPDS 2.0
schemas and the Readium Web Publication Manifest schemas they refer to (offline registry: see
``tests/specs/validation.py``)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client

from tests.specs.validation import opds2_feed_errors, opds2_publication_errors

from .conftest import LONG_DESCRIPTION

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

FEED = "application/opds+json"
PUBLICATION = "application/opds-publication+json"
OPEN_ACCESS = "http://opds-spec.org/acquisition/open-access"
SUBSCRIBE = "http://opds-spec.org/acquisition/subscribe"
BUY = "http://opds-spec.org/acquisition/buy"
BASE = "http://testserver"


@pytest.fixture
def client() -> Client:
    return Client(REMOTE_ADDR="41.82.211.8")


def fetch(client: Client, url: str) -> dict:
    """A valid OPDS 2.0 feed, parsed."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    assert response["Content-Type"] == FEED
    document = json.loads(response.content)
    errors = opds2_feed_errors(document)
    assert errors == [], (url, errors)
    return document


def publication(client: Client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200, (url, response.content[:300])
    assert response["Content-Type"] == PUBLICATION
    document = json.loads(response.content)
    errors = opds2_publication_errors(document)
    assert errors == [], (url, errors)
    return document


def link(document: dict, rel: str) -> str | None:
    found = [entry["href"] for entry in document["links"] if entry.get("rel") == rel]
    return found[0] if found else None


def ids(feed: dict) -> list[str]:
    return [p["metadata"]["identifier"].removeprefix("urn:uuid:") for p in feed.get("publications", [])]


def acquisitions(pub: dict) -> list[tuple]:
    return [(entry["rel"], entry["type"], entry["href"], entry.get("properties", {}).get("price"))
            for entry in pub["links"] if entry["rel"].startswith("http://opds-spec.org/acquisition")]


def test_every_feed_and_publication_validates(client, opds_library):
    books = opds_library["books"]
    senghor = books["chants"]["authors"][0]["id"]
    for url in ("/opds/v2/", "/opds/v2/new", "/opds/v2/popular", "/opds/v2/popular?limit=2",
                "/opds/v2/categories", "/opds/v2/categories/fiction/sections", "/opds/v2/categories/fiction",
                "/opds/v2/categories/poetry", "/opds/v2/authors", "/opds/v2/authors?limit=2",
                f"/opds/v2/authors/{senghor}", "/opds/v2/search?query=lettre",
                # nothing to list is still a valid feed (a way back instead of an empty list)
                "/opds/v2/search?query=", "/opds/v2/popular?access=sale&language=en",
                "/opds/v2/categories/essays"):
        fetch(client, url)
    for book_id in opds_library["downloadable"]:
        publication(client, f"/opds/v2/books/{book_id}")
    assert client.get(f"/opds/v2/books/{books['sans_fichier']['id']}").status_code == 404


def test_the_root_navigation_and_search_template(client, opds_library):
    root = fetch(client, "/opds/v2/")
    assert root["metadata"]["title"] == "Coko"
    assert link(root, "self") == f"{BASE}/opds/v2/" and link(root, "start") == f"{BASE}/opds/v2/"
    assert {(n["title"], n["rel"], n["href"]) for n in root["navigation"]} == {
        ("New books", "http://opds-spec.org/sort/new", f"{BASE}/opds/v2/new"),
        ("Popular books", "http://opds-spec.org/sort/popular", f"{BASE}/opds/v2/popular"),
        ("Categories", "subsection", f"{BASE}/opds/v2/categories"),
        ("Authors", "subsection", f"{BASE}/opds/v2/authors"),
        ("My shelf", "http://opds-spec.org/shelf", f"{BASE}/opds/v2/shelf"),
    }
    (search,) = [entry for entry in root["links"] if entry["rel"] == "search"]
    assert search == {"rel": "search", "href": f"{BASE}/opds/v2/search{{?query}}", "type": FEED,
                      "templated": True, "title": "Search"}
    results = fetch(client, search["href"].replace("{?query}", "?query=lettre"))
    assert opds_library["books"]["lettre"]["id"] in ids(results)
    assert results["metadata"]["numberOfItems"] >= len(results["publications"])
    for url in ("/opds/v2/new", "/opds/v2/categories", "/opds/v2/authors"):  # every feed offers it
        assert link(fetch(client, url), "search") == search["href"]


def test_publication_metadata(client, opds_library):
    books = opds_library["books"]
    lettre = publication(client, f"/opds/v2/books/{books['lettre']['id']}")
    metadata = lettre["metadata"]
    assert metadata["@type"] == "http://schema.org/Book"
    assert metadata["identifier"] == f"urn:uuid:{books['lettre']['id']}"
    assert metadata["title"] == "Une si longue lettre"
    assert metadata["language"] == "fr" and metadata["published"] == "1979-01-01"
    assert metadata["modified"].endswith("Z")
    assert metadata["description"] == LONG_DESCRIPTION.strip()  # the whole text in the publication
    assert metadata["publisher"] == "NEA" and metadata["altIdentifier"] == ["urn:isbn:9782842612818"]
    (writer,) = metadata["author"]
    assert writer["name"] == "Mariama Bâ"
    assert fetch(client, writer["links"][0]["href"])["metadata"]["title"] == "Mariama Bâ"
    (subject,) = metadata["subject"]
    assert (subject["name"], subject["code"]) == ("Novels", "novels")
    assert ids(fetch(client, subject["links"][0]["href"])) == [books["lettre"]["id"]]
    cover = opds_library["covers"]["lettre"]
    assert lettre["images"] == [{"href": BASE + cover[size], "type": "image/webp"}
                                for size in ("large", "medium", "small")]
    assert link(lettre, "self") == f"{BASE}/opds/v2/books/{books['lettre']['id']}"
    files = f"{BASE}/api/v1/files/books/{books['lettre']['id']}/file"
    assert acquisitions(lettre) == [(OPEN_ACCESS, "application/epub+zip", f"{files}/epub", None),
                                    (OPEN_ACCESS, "application/pdf", f"{files}/pdf", None)]

    chants = publication(client, f"/opds/v2/books/{books['chants']['id']}")["metadata"]
    assert [a["name"] for a in chants["author"]] == ["Léopold Sédar Senghor"]
    assert [t["name"] for t in chants["translator"]] == ["Ellen Conroy Kennedy"]

    # a book without a cover still has an image: the placeholder, served here
    aventure = publication(client, f"/opds/v2/books/{books['aventure']['id']}")
    assert aventure["images"] == [{"href": f"{BASE}/opds/cover-placeholder.png", "type": "image/png"}]
    placeholder = client.get("/opds/cover-placeholder.png")
    assert placeholder.status_code == 200 and placeholder["Content-Type"] == "image/png"
    assert placeholder.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_acquisition_links_and_prices(client, opds_library):
    books = opds_library["books"]
    feed = fetch(client, "/opds/v2/new")
    by_id = {p["metadata"]["identifier"].removeprefix("urn:uuid:"): p for p in feed["publications"]}
    assert list(by_id) == list(reversed(opds_library["downloadable"]))  # newest first, file-less book left out

    def rels_and_prices(key):
        return [(rel, price) for rel, _, _, price in acquisitions(by_id[books[key]["id"]])]

    usd_in_xof = round(500 * settings.COKO_CATALOG["USD_XOF"] / 100)
    assert rels_and_prices("lettre") == [(OPEN_ACCESS, None), (OPEN_ACCESS, None)]
    assert rels_and_prices("things") == [(SUBSCRIBE, None)]
    assert rels_and_prices("aventure") == [(BUY, {"currency": "XOF", "value": 3000})]
    assert rels_and_prices("chants") == [(BUY, {"currency": "XOF", "value": 6560})]
    assert rels_and_prices("anthologie") == [(BUY, {"currency": "XOF", "value": usd_in_xof})]
    # partial publications in feeds: a short description and a link to the whole publication
    lettre = by_id[books["lettre"]["id"]]
    assert lettre["metadata"]["description"].endswith("…")
    assert link(lettre, "self") == f"{BASE}/opds/v2/books/{books['lettre']['id']}"
    assert [entry["type"] for entry in lettre["links"] if entry["rel"] == "self"] == [PUBLICATION]


def test_pages_follow_next_to_the_end_and_previous_back(client, opds_library):
    books = opds_library["books"]
    pages, url = [], "/opds/v2/popular?limit=2"
    while url:
        pages.append(fetch(client, url))
        url = link(pages[-1], "next")
    seen = [book_id for page in pages for book_id in ids(page)]
    assert seen == [books[k]["id"] for k in ("anthologie", "chants", "things", "aventure", "lettre")]
    assert len(seen) == len(set(seen))
    assert [page["metadata"]["currentPage"] for page in pages] == [1, 2, 3]
    assert {page["metadata"]["itemsPerPage"] for page in pages} == {2}
    assert {link(page, "first") for page in pages} == {f"{BASE}/opds/v2/popular?limit=2"}
    back = [pages[-1]]
    while link(back[-1], "previous"):
        back.append(fetch(client, link(back[-1], "previous")))
    assert [ids(page) for page in reversed(back)] == [ids(page) for page in pages]

    authors, url = [], "/opds/v2/authors?limit=3"
    while url:
        page = fetch(client, url)
        authors += [n["title"] for n in page["navigation"]]
        assert all(n["properties"]["numberOfItems"] >= 1 for n in page["navigation"])
        url = link(page, "next")
    assert len(authors) == len(set(authors)) and "Léopold Sédar Senghor" in authors


def test_facets_mark_the_active_one_and_count_search_results(client, opds_library):
    books = opds_library["books"]
    feed = fetch(client, "/opds/v2/new?access=sale")
    groups = {group["metadata"]["title"]: group["links"] for group in feed["facets"]}
    assert [(f["title"], f.get("rel")) for f in groups["Access"]] == [
        ("All", None), ("Free", None), ("Subscription", None), ("For sale", "self")]
    assert [f.get("rel") for f in groups["Language"]].count("self") == 1
    assert set(ids(feed)) == {books[k]["id"] for k in ("aventure", "chants", "anthologie")}
    (free,) = [f for f in groups["Access"] if f["title"] == "Free"]
    assert parse_qs(urlsplit(free["href"]).query) == {"access": ["free"]}
    assert ids(fetch(client, free["href"])) == [books["lettre"]["id"]]


def test_categories_navigation(client, opds_library):
    tree = fetch(client, "/opds/v2/categories")
    assert [(n["title"], n["type"], n["properties"]["numberOfItems"]) for n in tree["navigation"]] == [
        ("Fiction", FEED, 2), ("Poetry", FEED, 2)]
    sections = fetch(client, tree["navigation"][0]["href"])
    assert [n["title"] for n in sections["navigation"]] == ["All of Fiction", "Novels"]
    assert link(sections, "up") == f"{BASE}/opds/v2/categories"
    response = client.get("/opds/v2/categories/no-such")
    assert response.status_code == 404 and response["Content-Type"] == "application/problem+json"
    assert json.loads(response.content)["status"] == 404


def test_the_schemas_refuse_what_opds_forbids(client, opds_library):
    """The validator is strict: the same documents, broken in the ways the schemas forbid."""
    feed = fetch(client, "/opds/v2/new")
    no_acquisition = json.loads(json.dumps(feed))
    no_acquisition["publications"][0]["links"] = no_acquisition["publications"][0]["links"][:1]  # self only
    assert opds2_feed_errors(no_acquisition)
    empty = {**feed, "publications": []}
    assert opds2_feed_errors(empty)
    no_self = {**feed, "links": [entry for entry in feed["links"] if entry["rel"] != "self"]}
    assert opds2_feed_errors(no_self)
    book = publication(client, f"/opds/v2/books/{opds_library['downloadable'][0]}")
    assert opds2_publication_errors({**book, "images": [{"href": "x.svg", "type": "image/svg+xml"}]})
    assert opds2_publication_errors({**book, "metadata": {**book["metadata"], "language": "fr_SN"}})
