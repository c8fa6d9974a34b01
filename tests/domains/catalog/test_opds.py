"""OPDS 1.2 feeds at /opds/: what e-reader apps browse, valid against the OPDS grammar.

Every document fetched here is checked against the OPDS 1.2 RELAX NG grammar (with Atom's
own, which it includes) before anything else is asserted: see ``tests/specs/validation.py``.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from lxml import etree

from coko.domains.catalog import selectors
from tests.specs.validation import opds1_errors

from .conftest import LONG_DESCRIPTION

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

NS = {"atom": "http://www.w3.org/2005/Atom", "opds": "http://opds-spec.org/2010/catalog",
      "dc": "http://purl.org/dc/terms/", "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
      "thr": "http://purl.org/syndication/thread/1.0", "os": "http://a9.com/-/spec/opensearch/1.1/"}
NAVIGATION = "application/atom+xml;profile=opds-catalog;kind=navigation"
ACQUISITION = "application/atom+xml;profile=opds-catalog;kind=acquisition"
ENTRY = "application/atom+xml;type=entry;profile=opds-catalog"
OPEN_ACCESS = "http://opds-spec.org/acquisition/open-access"
SUBSCRIBE = "http://opds-spec.org/acquisition/subscribe"
BUY = "http://opds-spec.org/acquisition/buy"
FACET = "http://opds-spec.org/facet"
BASE = "http://testserver"


@pytest.fixture
def client() -> Client:
    return Client(REMOTE_ADDR="41.82.210.7")


def fetch(client: Client, url: str, content_type: str = ACQUISITION, **headers):
    """A valid OPDS 1.2 document of this media type, parsed."""
    response = client.get(url, **headers)
    assert response.status_code == 200, (url, response.content[:300])
    assert response["Content-Type"] == content_type
    errors = opds1_errors(response.content)
    assert errors == [], (url, errors)
    return etree.fromstring(response.content)


def links(node, rel: str) -> list:
    return node.xpath("atom:link[@rel=$rel]", namespaces=NS, rel=rel)


def href(node, rel: str) -> str | None:
    found = links(node, rel)
    return found[0].get("href") if found else None


def entries(feed) -> list:
    return feed.xpath("atom:entry", namespaces=NS)


def book_ids(feed) -> list[str]:
    return [e.findtext("atom:id", namespaces=NS).removeprefix("urn:uuid:") for e in entries(feed)]


def entry_of(feed, book_id: str):
    found = feed.xpath("atom:entry[atom:id=$id]", namespaces=NS, id=f"urn:uuid:{book_id}")
    assert found, book_id
    return found[0]


def walk(client: Client, url: str) -> list:
    """Every page of a feed, following ``next`` to the end."""
    pages = []
    while url:
        pages.append(fetch(client, url, content_type=ACQUISITION if "authors?" not in url else NAVIGATION))
        url = href(pages[-1], "next")
        assert len(pages) < 50
    return pages


def facets(feed) -> dict[str, list]:
    groups: dict[str, list] = {}
    for link in links(feed, FACET):
        groups.setdefault(link.get(f"{{{NS['opds']}}}facetGroup"), []).append(link)
    return groups


def active(group: list) -> list[str]:
    return [link.get("title") for link in group if link.get(f"{{{NS['opds']}}}activeFacet") == "true"]


def acquisitions(entry) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    return [(link.get("rel"), link.get("type"), link.get("href"),
             [(p.get("currencycode"), p.text) for p in link.xpath("opds:price", namespaces=NS)])
            for link in entry.xpath("atom:link[starts-with(@rel, 'http://opds-spec.org/acquisition')]",
                                    namespaces=NS)]


# --- the root and search --------------------------------------------------------------------------
def test_the_root_is_a_navigation_feed_of_the_whole_catalogue(client, opds_library):
    root = fetch(client, "/opds/", NAVIGATION)
    assert href(root, "self") == f"{BASE}/opds/" and href(root, "start") == f"{BASE}/opds/"
    targets = {e.findtext("atom:title", namespaces=NS): (e.xpath("atom:link", namespaces=NS)[0].get("rel"),
                                                         e.xpath("atom:link", namespaces=NS)[0].get("type"),
                                                         e.xpath("atom:link", namespaces=NS)[0].get("href"))
               for e in entries(root)}
    assert targets == {
        "New books": ("http://opds-spec.org/sort/new", ACQUISITION, f"{BASE}/opds/new"),
        "Popular books": ("http://opds-spec.org/sort/popular", ACQUISITION, f"{BASE}/opds/popular"),
        "Categories": ("subsection", NAVIGATION, f"{BASE}/opds/categories"),
        "Authors": ("subsection", NAVIGATION, f"{BASE}/opds/authors"),
        "My shelf": ("http://opds-spec.org/shelf", ACQUISITION, f"{BASE}/opds/shelf"),
    }
    for entry in entries(root):  # navigation entries describe where they lead
        assert entry.findtext("atom:content", namespaces=NS)
        assert entry.find("atom:content", namespaces=NS).get("type") == "text"
    for title, (rel, content_type, url) in targets.items():
        if title != "My shelf":  # the shelf needs credentials (test_opds_http)
            fetch(client, url, content_type)
    assert href(root, "http://opds-spec.org/shelf") == f"{BASE}/opds/shelf"


def test_search_is_described_by_an_opensearch_document(client, opds_library):
    root = fetch(client, "/opds/", NAVIGATION)
    search = links(root, "search")[0]
    assert search.get("type") == "application/opensearchdescription+xml"
    response = client.get(search.get("href"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/opensearchdescription+xml"
    description = etree.fromstring(response.content)
    assert description.tag == f"{{{NS['os']}}}OpenSearchDescription"
    assert description.findtext("os:ShortName", namespaces=NS) == "Coko"
    urls = {u.get("type"): u.get("template") for u in description.xpath("os:Url", namespaces=NS)}
    assert urls[ACQUISITION] == f"{BASE}/opds/search?q={{searchTerms}}"
    assert urls["application/opds+json"] == f"{BASE}/opds/v2/search?query={{searchTerms}}"
    results = fetch(client, urls[ACQUISITION].replace("{searchTerms}", "lettre"))
    assert opds_library["books"]["lettre"]["id"] in book_ids(results)
    # every feed offers the search, acquisition feeds included
    assert href(fetch(client, "/opds/new"), "search") == search.get("href")


def test_search_results_with_totals_pages_and_facet_counts(client, opds_library, monkeypatch):
    """The feed shows what the search selector reports: total, facet counts, offset pages."""
    books = opds_library["books"]
    seen = {}

    def book_search(*, query, filters, limit, offset, lang, whole=False):
        seen.update(query=query, filters=filters, limit=limit, offset=offset)
        whole = selectors.books_full(book_ids=[books["aventure"]["id"], books["chants"]["id"]], lang=lang)
        return selectors.BookPage(items=[selectors.card_of(b) for b in whole], books=whole,
                                  next_cursor=str(offset + limit), limit=limit, sort="relevance",
                                  total=7, facets={"language": {"fr": 6, "en": 1},
                                                   "access_model": {"free": 2, "subscription": 1, "sale": 4}})

    monkeypatch.setattr(selectors, "book_search", book_search)
    feed = fetch(client, "/opds/search?q=senghor&limit=2&offset=2&access=sale")
    assert seen == {"query": "senghor", "filters": selectors.BookFilters(access_model="sale", has_files=True), "limit": 2,
                    "offset": 2}
    assert feed.findtext("atom:title", namespaces=NS) == "Search: senghor"
    assert feed.findtext("opensearch:totalResults", namespaces=NS) == "7"
    assert feed.findtext("opensearch:itemsPerPage", namespaces=NS) == "2"
    assert book_ids(feed) == [books["aventure"]["id"], books["chants"]["id"]]
    assert parse_qs(urlsplit(href(feed, "next")).query) == {"q": ["senghor"], "access": ["sale"], "limit": ["2"],
                                                            "offset": ["4"]}
    assert parse_qs(urlsplit(href(feed, "previous")).query) == {"q": ["senghor"], "access": ["sale"],
                                                                "limit": ["2"]}
    groups = facets(feed)
    counts = {link.get("title"): link.get(f"{{{NS['thr']}}}count") for link in groups["Language"]}
    assert counts == {"All": None, "Français": "6", "English": "1"}
    counts = {link.get("title"): link.get(f"{{{NS['thr']}}}count") for link in groups["Access"]}
    assert counts == {"All": None, "Free": "2", "Subscription": "1", "For sale": "4"}
    assert active(groups["Access"]) == ["For sale"] and active(groups["Language"]) == ["All"]


def test_a_real_search_and_an_empty_one(client, opds_library):
    lettre = opds_library["books"]["lettre"]["id"]
    feed = fetch(client, "/opds/search?q=lettre")
    assert lettre in book_ids(feed)
    assert int(feed.findtext("opensearch:totalResults", namespaces=NS)) >= len(entries(feed)) >= 1
    empty = fetch(client, "/opds/search?q=")
    assert entries(empty) == [] and empty.findtext("opensearch:totalResults", namespaces=NS) == "0"


# --- entries ------------------------------------------------------------------------------------
def test_acquisition_entries_carry_what_a_reader_app_shows(client, opds_library):
    books = opds_library["books"]
    feed = fetch(client, "/opds/new")
    # newest first; the published book without any file is not an OPDS catalog entry
    assert book_ids(feed) == list(reversed(opds_library["downloadable"]))
    assert books["sans_fichier"]["id"] not in book_ids(feed)

    lettre = entry_of(feed, books["lettre"]["id"])
    assert lettre.findtext("atom:title", namespaces=NS) == "Une si longue lettre"
    datetime.strptime(lettre.findtext("atom:updated", namespaces=NS), "%Y-%m-%dT%H:%M:%SZ")
    (writer,) = lettre.xpath("atom:author", namespaces=NS)
    assert writer.findtext("atom:name", namespaces=NS) == "Mariama Bâ"
    author_feed = fetch(client, writer.findtext("atom:uri", namespaces=NS))
    assert book_ids(author_feed) == [books["lettre"]["id"]]
    assert author_feed.findtext("atom:title", namespaces=NS) == "Mariama Bâ"
    assert lettre.findtext("dc:language", namespaces=NS) == "fr"
    assert lettre.findtext("dc:issued", namespaces=NS) == "1979-01-01"
    summary = lettre.find("atom:summary", namespaces=NS)
    assert summary.get("type") == "text" and len(summary) == 0  # plain text, no markup
    assert summary.text.endswith("…") and len(summary.text) <= 401
    assert LONG_DESCRIPTION.startswith(summary.text[:-1])
    assert lettre.find("atom:content", namespaces=NS) is None  # partial entry: content is in the full one
    (category,) = lettre.xpath("atom:category", namespaces=NS)
    assert dict(category.attrib) == {"scheme": f"{BASE}/opds/categories", "term": "novels", "label": "Novels"}
    cover = opds_library["covers"]["lettre"]
    assert [(link.get("href"), link.get("type")) for link in links(lettre, "http://opds-spec.org/image")] == \
        [(BASE + cover["large"], "image/webp")]
    assert [(link.get("href"), link.get("type")) for link in links(lettre, "http://opds-spec.org/image/thumbnail")] \
        == [(BASE + cover["small"], "image/webp")]
    (full,) = links(lettre, "alternate")
    assert full.get("type") == ENTRY and full.get("href") == f"{BASE}/opds/books/{books['lettre']['id']}"
    files = f"{BASE}/api/v1/files/books/{books['lettre']['id']}/file"
    assert acquisitions(lettre) == [(OPEN_ACCESS, "application/epub+zip", f"{files}/epub", []),
                                    (OPEN_ACCESS, "application/pdf", f"{files}/pdf", [])]

    things = entry_of(feed, books["things"]["id"])
    assert things.findtext("dc:language", namespaces=NS) == "en"
    assert acquisitions(things) == [(SUBSCRIBE, "application/epub+zip",
                                     f"{BASE}/api/v1/files/books/{books['things']['id']}/file/epub", [])]
    aventure = entry_of(feed, books["aventure"]["id"])
    assert aventure.findtext("dc:issued", namespaces=NS) == "1961"
    assert links(aventure, "http://opds-spec.org/image") == []  # no cover, no image link

    chants = entry_of(feed, books["chants"]["id"])  # a translator is a contributor
    assert [a.findtext("atom:name", namespaces=NS) for a in chants.xpath("atom:author", namespaces=NS)] == \
        ["Léopold Sédar Senghor"]
    assert [a.findtext("atom:name", namespaces=NS) for a in chants.xpath("atom:contributor", namespaces=NS)] == \
        ["Ellen Conroy Kennedy"]
    anthology = entry_of(feed, books["anthologie"]["id"])  # several authors, in credit order
    assert [a.findtext("atom:name", namespaces=NS) for a in anthology.xpath("atom:author", namespaces=NS)] == \
        ["Birago Diop", "Léopold Sédar Senghor"]


def test_books_for_sale_are_priced_in_xof(client, opds_library):
    """XOF first (what readers pay with), then the book's own currency when it is another:
    EUR at the fixed parity, USD at COKO_CATALOG['USD_XOF']. XOF has no minor unit."""
    books = opds_library["books"]
    feed = fetch(client, "/opds/new")
    priced = {key: [(rel, prices) for rel, _, _, prices in acquisitions(entry_of(feed, books[key]["id"]))]
              for key in ("aventure", "chants", "anthologie")}
    usd_in_xof = str(round(500 * settings.COKO_CATALOG["USD_XOF"] / 100))
    assert priced == {
        "aventure": [(BUY, [("XOF", "3000")])],
        "chants": [(BUY, [("XOF", "6560"), ("EUR", "10.00")])],  # 10.00 EUR × 655.957
        "anthologie": [(BUY, [("XOF", usd_in_xof), ("USD", "5.00")])],
    }


def test_the_complete_entry(client, opds_library):
    lettre = opds_library["books"]["lettre"]["id"]
    entry = fetch(client, f"/opds/books/{lettre}", ENTRY)
    assert entry.tag == f"{{{NS['atom']}}}entry"
    assert entry.findtext("atom:id", namespaces=NS) == f"urn:uuid:{lettre}"
    assert href(entry, "self") == f"{BASE}/opds/books/{lettre}" and links(entry, "self")[0].get("type") == ENTRY
    content = entry.find("atom:content", namespaces=NS)
    assert content.get("type") == "text" and content.text == LONG_DESCRIPTION.strip()
    assert entry.findtext("dc:identifier", namespaces=NS) == "urn:isbn:9782842612818"
    assert entry.findtext("dc:publisher", namespaces=NS) == "NEA"
    partial = entry_of(fetch(client, "/opds/new"), lettre)
    assert acquisitions(entry) == acquisitions(partial)  # the same ways to get the book
    # the atom:id is stable: the same in every feed and in the entry
    assert entry.findtext("atom:id", namespaces=NS) == partial.findtext("atom:id", namespaces=NS)

    for missing in (opds_library["books"]["sans_fichier"]["id"], "00000000-0000-4000-8000-000000000000"):
        response = client.get(f"/opds/books/{missing}")
        assert response.status_code == 404
        assert response["Content-Type"] == "text/plain; charset=utf-8"


# --- pages and facets ---------------------------------------------------------------------------
def test_pages_follow_next_to_the_end_and_previous_back(client, opds_library):
    pages = walk(client, "/opds/popular?limit=2")
    seen = [book_id for page in pages for book_id in book_ids(page)]
    books = opds_library["books"]
    # most popular first; the file-less book takes a place on page 1 but shows no entry
    assert seen == [books[k]["id"] for k in ("anthologie", "chants", "things", "aventure", "lettre")]
    assert len(seen) == len(set(seen)) and len(pages) == 3
    for page in pages:
        assert page.findtext("opensearch:itemsPerPage", namespaces=NS) == "2"
        assert href(page, "first") == f"{BASE}/opds/popular?limit=2"
        assert page.findtext("atom:id", namespaces=NS) == pages[0].findtext("atom:id", namespaces=NS)
    assert href(pages[0], "previous") is None and href(pages[-1], "next") is None
    back = [pages[-1]]
    while href(back[-1], "previous"):
        back.append(fetch(client, href(back[-1], "previous")))
    assert [book_ids(page) for page in reversed(back)] == [book_ids(page) for page in pages]
    assert href(back[-1], "self") == f"{BASE}/opds/popular?limit=2"


def test_facets_by_language_and_access_model(client, opds_library):
    books = opds_library["books"]
    feed = fetch(client, "/opds/new")
    groups = facets(feed)
    assert [link.get("title") for link in groups["Access"]] == ["All", "Free", "Subscription", "For sale"]
    assert [link.get("title") for link in groups["Language"]][:1] == ["All"]
    assert {"English", "Français"} <= {link.get("title") for link in groups["Language"]}
    assert active(groups["Access"]) == ["All"] and active(groups["Language"]) == ["All"]
    for link in links(feed, FACET):
        assert link.get("type") == ACQUISITION

    (sale,) = [link for link in groups["Access"] if link.get("title") == "For sale"]
    on_sale = fetch(client, sale.get("href"))
    assert set(book_ids(on_sale)) == {books[k]["id"] for k in ("aventure", "chants", "anthologie")}
    assert active(facets(on_sale)["Access"]) == ["For sale"]
    (english,) = [link for link in facets(on_sale)["Language"] if link.get("title") == "English"]
    assert parse_qs(urlsplit(english.get("href")).query) == {"language": ["en"], "access": ["sale"]}
    nothing = fetch(client, english.get("href"))  # an empty acquisition feed is still a valid feed
    assert entries(nothing) == []
    assert active(facets(nothing)["Language"]) == ["English"]
    assert book_ids(fetch(client, "/opds/new?language=en")) == [books["things"]["id"]]


def test_the_language_facets_name_every_language_of_the_catalogue(client, opds_library, author):
    """A reader browsing in Wolof or Hausa finds the facet: every language of the published
    books is offered (most books first), by its own name, not only English and French."""
    from .conftest import book_file, published

    for title, language in (("Doomi golo", "wo"), ("Fanaan", "wo"), ("Magana Jari Ce", "ha")):
        book_file(author, published(author, title=title, language=language)["id"])
    published(author, title="Sans fichier", language="yo")  # not in the feeds: not a facet either
    titles = [link.get("title") for link in facets(fetch(client, "/opds/new"))["Language"]]
    assert titles[0] == "All" and titles[1] == "Français"  # the most books
    assert {"English", "Wolof", "Hausa"} <= set(titles)
    assert titles.index("Wolof") < titles.index("Hausa")  # two books before one
    assert "Yorùbá" not in titles


def test_bad_parameters_are_refused_in_plain_text(client, opds_library):
    for query in ("limit=0", "limit=1000", "limit=ten", "access=rent", "language=FRENCH", "cursor=no%20way",
                  "back=%21%21"):
        response = client.get(f"/opds/new?{query}")
        assert response.status_code == 400, query
        assert response["Content-Type"] == "text/plain; charset=utf-8"
    popular_cursor = parse_qs(urlsplit(href(fetch(client, "/opds/popular?limit=1"), "next")).query)["cursor"][0]
    response = client.get(f"/opds/new?cursor={popular_cursor}")  # a cursor belongs to its sort
    assert response.status_code == 422 and b"cursor" in response.content


# --- categories and authors ---------------------------------------------------------------------
def test_categories_are_browsed_as_a_tree(client, opds_library):
    books = opds_library["books"]
    tree = fetch(client, "/opds/categories", NAVIGATION)
    items = {e.findtext("atom:title", namespaces=NS): e for e in entries(tree)}
    assert list(items) == ["Fiction", "Poetry"]  # "Essays" has no book: no dead end
    fiction = items["Fiction"].xpath("atom:link", namespaces=NS)[0]  # it has sub-categories
    assert (fiction.get("type"), fiction.get("href")) == (NAVIGATION, f"{BASE}/opds/categories/fiction/sections")
    poetry = items["Poetry"].xpath("atom:link", namespaces=NS)[0]
    assert (poetry.get("type"), poetry.get("href")) == (ACQUISITION, f"{BASE}/opds/categories/poetry")
    assert items["Poetry"].findtext("atom:content", namespaces=NS) == "2 books"

    sections = fetch(client, fiction.get("href"), NAVIGATION)
    assert [e.findtext("atom:title", namespaces=NS) for e in entries(sections)] == ["All of Fiction", "Novels"]
    assert href(sections, "up") == f"{BASE}/opds/categories"
    everything = fetch(client, entries(sections)[0].xpath("atom:link", namespaces=NS)[0].get("href"))
    assert set(book_ids(everything)) == {books["lettre"]["id"], books["things"]["id"]}  # descendants too
    assert everything.findtext("atom:title", namespaces=NS) == "Fiction"
    novels = fetch(client, entries(sections)[1].xpath("atom:link", namespaces=NS)[0].get("href"))
    assert book_ids(novels) == [books["lettre"]["id"]]
    assert href(novels, "up") == f"{BASE}/opds/categories/fiction/sections"
    assert set(book_ids(fetch(client, poetry.get("href")))) == {books["chants"]["id"], books["anthologie"]["id"]}

    french = fetch(client, fiction.get("href"), NAVIGATION, HTTP_ACCEPT_LANGUAGE="fr")
    assert french.get("{http://www.w3.org/XML/1998/namespace}lang") == "fr"
    assert [e.findtext("atom:title", namespaces=NS) for e in entries(french)] == ["Tout Fiction", "Romans"]

    for url in ("/opds/categories/no-such", "/opds/categories/no-such/sections"):
        response = client.get(url)
        assert response.status_code == 404 and response["Content-Type"] == "text/plain; charset=utf-8"


def test_authors_are_browsed_page_by_page(client, opds_library):
    books = opds_library["books"]
    pages = walk(client, "/opds/authors?limit=2")
    names = [e.findtext("atom:title", namespaces=NS) for page in pages for e in entries(page)]
    assert len(names) == len(set(names))
    assert {"Mariama Bâ", "Cheikh Hamidou Kane", "Chinua Achebe", "Léopold Sédar Senghor", "Birago Diop"} <= set(names)
    assert len(pages) == (len(names) + 1) // 2
    senghor = [e for page in pages for e in entries(page)
               if e.findtext("atom:title", namespaces=NS) == "Léopold Sédar Senghor"][0]
    link = senghor.xpath("atom:link", namespaces=NS)[0]
    assert link.get("type") == ACQUISITION
    assert set(book_ids(fetch(client, link.get("href")))) == {books["chants"]["id"], books["anthologie"]["id"]}
    assert client.get("/opds/authors/00000000-0000-4000-8000-000000000000").status_code == 404


def test_the_grammar_refuses_what_opds_forbids(client, opds_library):
    """The validator is strict: the same feed, broken in the ways the grammar forbids."""
    body = client.get("/opds/new").content
    assert opds1_errors(body) == []
    feed = etree.fromstring(body)
    price = feed.xpath("//opds:price", namespaces=NS)[0]
    price.getparent().remove(price)
    for link in feed.xpath("//atom:link[@rel=$buy]", namespaces=NS, buy=BUY):  # a buy link with no price
        for other in link.xpath("opds:price", namespaces=NS):
            link.remove(other)
    assert opds1_errors(etree.tostring(feed))
    for broken in (body.replace(b'<summary type="text">', b'<summary type="html">', 1),  # summaries are text
                   body.replace(b"/file/epub", b"/file/{format}", 1),  # no URI templates in href
                   body.replace(b'currencycode="XOF"', b'currencycode="FCFA"', 1),  # ISO 4217 codes only
                   body.replace(b"<updated>", b"<updated>yesterday", 1)):  # RFC 3339 dates
        assert opds1_errors(broken), broken[:80]
