"""Browsing the catalogue as a reader does: contributors in their roles, authors named by name
(and found despite typos), sorts by author and year in either direction with pages that add up,
publishers and series, and OPDS 2.0's ``published`` for books known only by their year."""

from __future__ import annotations

import itertools
import json
from urllib.parse import urlencode

import pytest
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from lxml import etree

from coko.domains.catalog import api, cache, selectors, services
from coko.domains.catalog.models import Author
from tests.specs.validation import opds2_publication_errors

from .conftest import book_file, published

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

NS = {"atom": "http://www.w3.org/2005/Atom"}


def ids(response) -> list[str]:
    assert response.status_code == 200, response.data
    return [b["id"] for b in response.data["items"]]


def url(path: str, params: dict) -> str:
    return f"{path}?{urlencode(params)}"


def walk(client, path: str) -> list[str]:
    """Every id of a listing, following next_cursor to the end."""
    seen, cursor = [], None
    while True:
        sep = "&" if "?" in path else "?"
        response = client.get(path + (f"{sep}cursor={cursor}" if cursor else ""))
        seen += ids(response)
        cursor = response.data["next_cursor"]
        if not cursor:
            return seen


# --- contributors keep their role ------------------------------------------------------------------
@pytest.fixture
def translated(author) -> dict:
    book = published(author, title="Chants d'ombre", authors=[
        "Léopold Sédar Senghor", {"name": "Ellen Conroy Kennedy", "role": "translator"},
        {"name": "Ousmane Sow", "role": "illustrator"}, {"name": "Lilyan Kesteloot", "role": "contributor"}],
        publication_year=1945)
    book_file(author, book["id"])
    cache.catalog_changed()
    return book


def test_translators_and_illustrators_are_contributors_not_authors(anonymous, translated):
    people = [("Léopold Sédar Senghor", "author"), ("Ellen Conroy Kennedy", "translator"),
              ("Ousmane Sow", "illustrator"), ("Lilyan Kesteloot", "contributor")]
    for shown in (anonymous.get(f"/books/{translated['id']}").data, anonymous.get("/books").data["items"][0],
                  anonymous.get("/books/search?q=chants").data["items"][0]):
        assert [(a["name"], a["role"]) for a in shown["authors"]] == people[:1]
        assert [(c["name"], c["role"]) for c in shown["contributors"]] == people
    assert anonymous.get("/books?fields=contributors").data["items"][0]["contributors"][1]["role"] == "translator"
    # other domains (reading lists, clubs) are told the authors only
    (summary,) = api.book_summaries(book_ids=[translated["id"]])
    assert summary.authors == ("Léopold Sédar Senghor",)
    assert api.book_files(book_id=translated["id"]).authors == ("Léopold Sédar Senghor",)


def test_opds_names_the_authors_as_authors_and_the_others_in_their_role(translated):
    client = Client(REMOTE_ADDR="41.82.211.9")
    entry = etree.fromstring(client.get(f"/opds/books/{translated['id']}").content)
    assert [a.findtext("atom:name", namespaces=NS) for a in entry.xpath("atom:author", namespaces=NS)] == [
        "Léopold Sédar Senghor"]
    assert [a.findtext("atom:name", namespaces=NS) for a in entry.xpath("atom:contributor", namespaces=NS)] == [
        "Ellen Conroy Kennedy", "Ousmane Sow", "Lilyan Kesteloot"]
    document = json.loads(client.get(f"/opds/v2/books/{translated['id']}").content)
    assert opds2_publication_errors(document) == []
    metadata = document["metadata"]
    assert {role: [p["name"] for p in metadata[role]] for role in
            ("author", "translator", "illustrator", "contributor")} == {
        "author": ["Léopold Sédar Senghor"], "translator": ["Ellen Conroy Kennedy"],
        "illustrator": ["Ousmane Sow"], "contributor": ["Lilyan Kesteloot"]}


# --- OPDS 2.0: published ---------------------------------------------------------------------------
def test_opds2_published_is_a_schema_date_for_a_year_alone_and_the_date_when_known(author, translated):
    client = Client(REMOTE_ADDR="41.82.211.10")
    dated = published(author, title="Une si longue lettre", publication_date="1979-03-15", publication_year=1979)
    ancient = published(author, title="The Iliad", publication_year=-750, authors=["Homer"])
    for book in (dated, ancient):
        book_file(author, book["id"])
    cache.catalog_changed()

    def pub(book_id: str) -> dict:
        document = json.loads(client.get(f"/opds/v2/books/{book_id}").content)
        assert opds2_publication_errors(document) == [], document["metadata"]
        return document["metadata"]

    assert pub(translated["id"])["published"] == "1945-01-01"  # a year alone: its first of January
    assert pub(dated["id"])["published"] == "1979-03-15"
    assert "published" not in pub(ancient["id"])  # before year 1: no date to give
    # the schema wants a date: a year alone would not do (the validator says so)
    document = json.loads(client.get(f"/opds/v2/books/{translated['id']}").content)
    assert opds2_publication_errors({**document, "metadata": {**document["metadata"], "published": "1945"}})
    feed = json.loads(client.get("/opds/v2/new").content)
    assert {p["metadata"]["title"]: p["metadata"].get("published") for p in feed["publications"]} == {
        "Chants d'ombre": "1945-01-01", "Une si longue lettre": "1979-03-15", "The Iliad": None}


# --- authors by name, and despite typos -----------------------------------------------------------
@pytest.fixture
def authors_shelf(author) -> dict:
    books = {
        "lettre": published(author, authors=["Mariama Bâ"]),
        "things": published(author, title="Things Fall Apart", language="en", authors=["Chinua Achebe"]),
        "chants": published(author, title="Chants d'ombre", authors=["Léopold Sédar Senghor"]),
    }
    cache.catalog_changed()
    return books


def test_the_author_filter_takes_an_id_or_a_name_written_any_way(anonymous, authors_shelf):
    lettre = authors_shelf["lettre"]
    by_id = ids(anonymous.get(f"/books?author={lettre['authors'][0]['id']}"))
    assert by_id == [lettre["id"]]
    for name in ("Mariama Bâ", "mariama ba", "MARIAMA  BA", " Mariama Bâ "):
        assert ids(anonymous.get(url("/books", {"author": name}))) == by_id, name
    assert ids(anonymous.get(url("/books/search", {"q": "lettre", "author": "mariama ba"}))) == by_id
    assert ids(anonymous.get(url("/books/search", {"q": "lettre", "author": "Chinua Achebe"}))) == []
    unknown = anonymous.get(url("/books", {"author": "Mariama Baa"}))
    assert unknown.status_code == 404 and unknown.data["error"]["code"] == "author_name_not_found"
    assert unknown.data["error"]["details"] == {"author": "mariama baa"}
    french = anonymous.get(url("/books", {"author": "Personne"}), HTTP_ACCEPT_LANGUAGE="fr")
    assert french.data["error"]["message"] == "Aucun auteur ne porte ce nom (GET /authors?q= trouve les noms proches)."
    nobody = anonymous.get("/books?author=00000000-0000-4000-8000-000000000000")
    assert nobody.status_code == 404 and nobody.data["error"]["code"] == "author_not_found"


def test_the_author_search_tolerates_typos_accents_and_case(anonymous, authors_shelf):
    def names(q: str) -> list[str]:
        response = anonymous.get(url("/authors", {"q": q}))
        assert response.status_code == 200, response.data
        return [a["name"] for a in response.data["items"]]

    assert names("Achebee") == ["Chinua Achebe"]
    assert names("senghr") == ["Léopold Sédar Senghor"]
    assert names("leopold") == ["Léopold Sédar Senghor"]
    assert names("BÂ") == ["Mariama Bâ"]
    assert names("sedar senghor") == ["Léopold Sédar Senghor"]
    assert names("Dostoyevsky") == []


# --- sorts by author and year, in either direction, with pages that add up ------------------------
@pytest.fixture
def years_shelf(author) -> dict:
    """Ten books: years with ties and gaps, first authors with ties; one without an author (a
    translator only) and two without a year."""
    specs = [("A", 1961, ["Cheikh Hamidou Kane"]), ("B", 1958, ["Chinua Achebe"]), ("C", 1958, ["Chinua Achebe"]),
             ("D", None, ["Mariama Bâ"]), ("E", 1979, ["Mariama Bâ", "Aminata Sow Fall"]),
             ("F", 2001, ["Aminata Sow Fall"]), ("G", None, [{"name": "Ellen Conroy Kennedy", "role": "translator"}]),
             ("H", 1945, ["Léopold Sédar Senghor"]), ("I", 1961, ["Birago Diop"]), ("J", 2001, ["Boubacar Boris Diop"])]
    books = {title: published(author, title=title, publication_year=year, authors=credits)
             for title, year, credits in specs}
    cache.catalog_changed()
    return books


def _expected(books: dict, sort: str, order: str) -> list[str]:
    """The order a sort promises: the key in the direction asked, empty keys last, then the id
    (ascending in the sort's natural direction, descending reversed)."""
    natural = {"year": "desc", "author": "asc"}[sort]
    sort_names = dict(Author.objects.using("catalog").values_list("name", "sort_name"))

    def value(book):
        if sort == "year":
            return book["publication_year"]
        return sort_names[book["authors"][0]["name"]] if book["authors"] else None

    present = [b for b in books.values() if value(b) is not None]
    empty = [b for b in books.values() if value(b) is None]
    id_reversed = order != natural
    present.sort(key=lambda b: b["id"], reverse=id_reversed)
    present.sort(key=value, reverse=order == "desc")
    empty.sort(key=lambda b: b["id"], reverse=id_reversed)
    return [b["id"] for b in present + empty]


@pytest.mark.parametrize(("sort", "order"), list(itertools.product(("year", "author"), (None, "asc", "desc"))))
def test_sorts_by_year_and_author_in_both_directions_page_to_the_end(anonymous, years_shelf, sort, order):
    query = f"/books?sort={sort}" + (f"&order={order}" if order else "")
    whole = anonymous.get(query + "&limit=100")
    natural = {"year": "desc", "author": "asc"}[sort]
    assert whole.data["order"] == (order or natural)
    expected = _expected(years_shelf, sort, order or natural)
    assert ids(whole) == expected
    for limit in (1, 2, 3):
        paged = walk(anonymous, f"{query}&limit={limit}")
        assert paged == expected, limit  # nothing repeated, nothing skipped, in order


def test_every_sort_and_direction_pages_to_the_end(anonymous, years_shelf):
    for book_id, n in zip([b["id"] for b in years_shelf.values()], (5, 5, 3, 0, 9, 1, 1, 7, 5, 2), strict=True):
        services.book_stats_set(book_id=book_id, popularity=n, rating_average=n / 2, rating_count=n)
    cache.catalog_changed()
    for sort, order in itertools.product(("popularity", "newest", "rating", "title", "author", "year"),
                                         ("asc", "desc")):
        whole = ids(anonymous.get(f"/books?sort={sort}&order={order}&limit=100"))
        assert len(whole) == len(set(whole)) == 10
        assert walk(anonymous, f"/books?sort={sort}&order={order}&limit=3") == whole, (sort, order)
        reversed_ = ids(anonymous.get(f"/books?sort={sort}&order={'desc' if order == 'asc' else 'asc'}&limit=100"))
        assert set(reversed_) == set(whole)
    by_title = ids(anonymous.get("/books?sort=title&order=desc&limit=100"))
    assert [years_shelf[t]["id"] for t in "JIHGFEDCBA"] == by_title
    # a cursor belongs to its sort and its direction
    cursor = anonymous.get("/books?sort=year&limit=1").data["next_cursor"]
    refused = anonymous.get(f"/books?sort=year&order=asc&cursor={cursor}")
    assert refused.status_code == 422 and refused.data["error"]["code"] == "invalid_cursor"
    assert anonymous.get(f"/books?sort=year&order=desc&cursor={cursor}").status_code == 200


def test_the_sorts_and_directions_are_documented(anonymous):
    schema = Client().get("/api/v1/openapi.json").json()
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/books"]["get"]["parameters"]}
    assert "year" in json.dumps(parameters["sort"]) and "author" in json.dumps(parameters["sort"])
    assert "asc" in json.dumps(parameters["order"]) and "desc" in json.dumps(parameters["order"])
    search = {p["name"] for p in schema["paths"]["/api/v1/books/search"]["get"]["parameters"]}
    assert "order" not in search  # search results come best first


# --- publishers and series -------------------------------------------------------------------------
@pytest.fixture
def houses(author) -> dict:
    books = {
        "lettre": published(author, publisher="Les Nouvelles Éditions Africaines", series="Classiques africains",
                            series_position=2),
        "aventure": published(author, title="L'Aventure ambiguë", publisher="Julliard",
                              series="Classiques africains", series_position=1),
        "chants": published(author, title="Chants d'ombre", publisher="Les Nouvelles Éditions Africaines",
                            series="Classiques africains"),
        "contes": published(author, title="Les Contes d'Amadou Koumba", publisher="Présence Africaine",
                            series="Classiques africains", series_position=1.5),
        "things": published(author, title="Things Fall Apart", language="en", publisher="Heinemann",
                            series="African Writers Series", series_position=1),
    }
    draft = author.post("/books", {"title": "Brouillon", "authors": ["X"], "publisher": "Éditions du Brouillon",
                                   "series": "Brouillons", "language": "fr"})
    assert draft.status_code == 201
    cache.catalog_changed()
    return books


def test_publishers_are_listed_searched_and_browsed(anonymous, houses):
    listed = anonymous.get("/publishers").data
    assert [(p["name"], p["book_count"]) for p in listed["items"]] == [
        ("Heinemann", 1), ("Julliard", 1), ("Les Nouvelles Éditions Africaines", 2), ("Présence Africaine", 1)]
    assert [p["name"] for p in anonymous.get(url("/publishers", {"q": "editions afr"})).data["items"]] == [
        "Les Nouvelles Éditions Africaines"]
    assert walk(anonymous, "/publishers?limit=1") == [p["id"] for p in listed["items"]]
    nea = listed["items"][2]
    page = anonymous.get(f"/publishers/{nea['id']}").data
    assert page["name"] == nea["name"] and page["book_count"] == 2
    assert {b["id"] for b in page["books"]} == {houses["lettre"]["id"], houses["chants"]["id"]}
    assert set(ids(anonymous.get(f"/books?publisher={nea['id']}"))) == {houses["lettre"]["id"],
                                                                          houses["chants"]["id"]}
    assert anonymous.get(f"/books/{houses['lettre']['id']}").data["publisher_id"] == nea["id"]
    assert ids(anonymous.get(url("/books/search", {"q": "lettre", "publisher": nea["id"]}))) == [houses["lettre"]["id"]]
    missing = "00000000-0000-4000-8000-000000000000"
    assert anonymous.get(f"/publishers/{missing}").data["error"]["code"] == "publisher_not_found"
    assert anonymous.get(f"/books?publisher={missing}").data["error"]["code"] == "publisher_not_found"


def test_series_are_listed_and_their_books_come_in_the_series_order(anonymous, houses):
    listed = anonymous.get("/series").data["items"]
    assert [(s["name"], s["book_count"]) for s in listed] == [("African Writers Series", 1),
                                                              ("Classiques africains", 4)]
    assert [s["name"] for s in anonymous.get(url("/series", {"q": "CLASSIQUES"})).data["items"]] == ["Classiques africains"]
    classiques = listed[1]
    order = [houses[k]["id"] for k in ("aventure", "contes", "lettre", "chants")]  # 1, 1.5, 2, no number
    page = anonymous.get(f"/series/{classiques['id']}").data
    assert [b["id"] for b in page["books"]] == order
    assert [b["series_position"] for b in page["books"]] == [1.0, 1.5, 2.0, None]
    paged, cursor = [], None
    while True:
        one = anonymous.get(url(f"/series/{classiques['id']}", {"limit": 1, **({"cursor": cursor} if cursor else {})}))
        paged += [b["id"] for b in one.data["books"]]
        cursor = one.data["next_cursor"]
        if not cursor:
            break
    assert paged == order
    assert set(ids(anonymous.get(f"/books?series={classiques['id']}"))) == set(order)
    missing = "00000000-0000-4000-8000-000000000000"
    assert anonymous.get(f"/series/{missing}").status_code == 404
    assert anonymous.get(f"/books?series={missing}").data["error"]["code"] == "series_not_found"


def test_the_lists_of_publishers_and_series_take_a_fixed_number_of_queries(author, houses):
    for n in range(10):
        published(author, title=f"Livre {n}", publisher=f"Maison {n}", series=f"Collection {n}")
    for read in (lambda: selectors.publisher_page(limit=50), lambda: selectors.series_page(limit=50)):
        with CaptureQueriesContext(connections["catalog"]) as queries:
            items, _ = read()
        assert len(items) >= 10 and len(queries) == 1
