"""Issue 11: a new install puts the starter catalogue's African books forward — a ``featured``
collection on the API's and the OPDS feeds' home, popularity seeded from goodbooks' ratings
(log-scaled) and an editorial boost for the starter books (no invented ratings) — and a
reader has a shelf of their own."""

from __future__ import annotations

import io
import json

import pytest
from lxml import etree

from coko.domains.catalog import cache, demo, importing, services
from coko.domains.catalog.models import Book, CollectionItem
from tests.specs.validation import opds1_errors, opds2_feed_errors

from .conftest import book_file, published
from .test_goodbooks import write_goodbooks

STARTER = json.loads((importing.DATA_DIR / "starter_books.json").read_text(encoding="utf-8"))
ATOM = {"atom": "http://www.w3.org/2005/Atom"}
FEATURED_REL = "http://opds-spec.org/featured"


def load_demo() -> str:
    out = io.StringIO()
    demo.load(stdout=out)
    return out.getvalue()


def starter_ids_in_file_order() -> list[str]:
    ids = {b.external_ids["coko-starter"]: str(b.id) for b in Book.objects.filter(external_ids__has_key="coko-starter")}
    return [ids[entry["key"]] for entry in STARTER["books"]]


def all_pages(api, path: str, limit: int) -> list[dict]:
    items, cursor = [], None
    while True:
        page = api.get(f"{path}?limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        assert page.status_code == 200, page.data
        items += page.data["items"]
        cursor = page.data["next_cursor"]
        if not cursor:
            return items


# --- the featured collection ------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_new_install_features_the_starter_books_in_order(monkeypatch, anonymous, staff):
    monkeypatch.delenv("COKO_GOODBOOKS_DIR", raising=False)
    assert "'featured' collection" in load_demo()

    listed = anonymous.get("/collections", HTTP_ACCEPT_LANGUAGE="en")
    assert listed.status_code == 200
    assert listed.data == [{"slug": "featured", "name": "Featured", "book_count": len(STARTER["books"])}]
    assert anonymous.get("/collections", HTTP_ACCEPT_LANGUAGE="fr").data[0]["name"] == "À la une"

    first = anonymous.get("/collections/featured?limit=10")
    assert first.status_code == 200 and first.data["name"] == "Featured" and first.data["limit"] == 10
    assert [b["id"] for b in first.data["items"]] == starter_ids_in_file_order()[:10]
    assert first.data["items"][0]["title"] == "So Long a Letter"  # Une si longue lettre, in English
    every = all_pages(anonymous, "/collections/featured", 20)
    assert [b["id"] for b in every] == starter_ids_in_file_order()
    assert all(b["rating"] == {"average": None, "count": 0} for b in every)  # no invented ratings

    # staff's collection from then on: a start-up neither refills nor reorders it
    letter = Book.objects.get(title="Une si longue lettre")
    CollectionItem.objects.filter(book=letter).delete()
    assert "featured" not in load_demo()
    ids = [b["id"] for b in all_pages(anonymous, "/collections/featured", 50)]
    assert ids == [i for i in starter_ids_in_file_order() if i != str(letter.id)]


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_collections_are_paged_by_their_own_order_and_refuse_nonsense(author, anonymous):
    books = [published(author, title=f"Livre {n}") for n in range(5)]
    services.collection_ensure(slug="rentree", name="Back to school", translations={"fr": "Rentrée"},
                               book_ids=[books[n]["id"] for n in (3, 1, 4)])
    assert services.collection_books_add(slug="rentree", book_ids=[books[1]["id"], books[0]["id"]]) == 1
    order = [books[n]["id"] for n in (3, 1, 4, 0)]
    assert [b["id"] for b in all_pages(anonymous, "/collections/rentree", 1)] == order
    assert anonymous.get("/collections/rentree", HTTP_ACCEPT_LANGUAGE="fr").data["name"] == "Rentrée"

    missing = anonymous.get("/collections/nothing-here")
    assert missing.status_code == 404 and missing.data["error"]["code"] == "collection_not_found"
    bad = anonymous.get("/collections/rentree?cursor=bm9uc2Vuc2U")
    assert bad.status_code == 422 and bad.data["error"]["code"] == "invalid_cursor"
    other_sort = anonymous.get("/books?limit=1").data["next_cursor"]  # a cursor of another list
    assert anonymous.get(f"/collections/rentree?cursor={other_sort}").status_code == 422

    # a withdrawn book leaves the collection's answers (and its count)
    author.post(f"/books/{books[3]['id']}/withdraw", {"reason": "test"})
    cache.catalog_changed()
    page = anonymous.get("/collections/rentree")
    assert [b["id"] for b in page.data["items"]] == order[1:] and page.data["book_count"] == 3


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_the_opds_roots_lead_to_the_featured_books(client, opds_library):
    books = opds_library["books"]
    order = [books[k]["id"] for k in ("things", "lettre", "sans_fichier", "chants")]
    services.collection_ensure(slug="featured", name="Featured", translations={"fr": "À la une"}, book_ids=order)

    root = client.get("/opds/", HTTP_ACCEPT_LANGUAGE="fr")
    assert opds1_errors(root.content) == []
    document = etree.fromstring(root.content)
    featured = document.xpath(f"atom:entry[atom:link/@rel='{FEATURED_REL}']", namespaces=ATOM)
    assert [e.findtext("atom:title", namespaces=ATOM) for e in featured] == ["À la une"]
    href = featured[0].xpath("atom:link/@href", namespaces=ATOM)[0]
    assert href == "http://testserver/opds/collections/featured"
    assert document.xpath(f"atom:link[@rel='{FEATURED_REL}']/@href", namespaces=ATOM) == [href]

    feed = client.get("/opds/collections/featured")
    assert feed.status_code == 200 and opds1_errors(feed.content) == []
    ids = etree.fromstring(feed.content).xpath("atom:entry/atom:id/text()", namespaces=ATOM)
    # in the collection's order; the book without a file is no catalog entry
    assert [i.removeprefix("urn:uuid:") for i in ids] == [order[0], order[1], order[3]]

    v2 = json.loads(client.get("/opds/v2/").content)
    assert opds2_feed_errors(v2) == []
    assert any(link["rel"] == FEATURED_REL for link in v2["navigation"])
    group = v2["groups"][0]
    assert group["metadata"]["title"] == "Featured"
    assert group["links"][0]["href"] == "http://testserver/opds/v2/collections/featured"
    assert [p["metadata"]["identifier"] for p in group["publications"]] == [
        f"urn:uuid:{order[0]}", f"urn:uuid:{order[1]}", f"urn:uuid:{order[3]}"]
    v2_feed = json.loads(client.get("/opds/v2/collections/featured?limit=1").content)
    assert opds2_feed_errors(v2_feed) == [] and len(v2_feed["publications"]) == 1
    assert any(link["rel"] == "next" for link in v2_feed["links"])
    assert client.get("/opds/v2/collections/none").status_code == 404


# --- popularity: seeded from goodbooks' ratings, an editorial boost for the starter books -----------
def test_a_seed_grows_with_the_log_of_the_ratings():
    seed = importing.popularity_seed
    assert seed(0) == 0 and seed(1000) == 448 and seed(100_000) == 746 and seed(4_780_653) == 997
    assert seed(5_000_000) == 1000  # SEED_FULL_SCALE_RATINGS
    assert 740 <= importing.STARTER_EDITORIAL_BOOST <= 760  # about a book with 100,000 ratings


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_starter_books_rank_among_well_known_books_not_below_everything(tmp_path, monkeypatch, anonymous):
    monkeypatch.setenv("COKO_GOODBOOKS_DIR", str(write_goodbooks(tmp_path / "gb")))
    load_demo()
    popular = all_pages(anonymous, "/books", 100)
    starter_ids = {str(i) for i in Book.objects.filter(external_ids__has_key="coko-starter").values_list("id", flat=True)}
    ranks = [b["id"] in starter_ids for b in popular]
    titles = [b["title"] for b in popular]
    # millions of ratings (Hunger Games, Harry Potter), then 500,000 and 241,000, then the starter
    # books, above a book with 9,000 ratings
    assert titles[:4] == ["The Hunger Games", "Harry Potter and the Sorcerer's Stone", "The Lord of the Rings",
                          "The Iliad"]
    assert all(ranks[4:4 + len(starter_ids)]) and titles[-1] == "L'Étranger"
    hunger = next(b for b in popular if b["title"] == "The Hunger Games")
    assert hunger["popularity"] == 997 and hunger["rating"] == {"average": 4.34, "count": 4780653}
    starter = next(b for b in popular if b["id"] in starter_ids)
    assert starter["popularity"] == importing.STARTER_EDITORIAL_BOOST
    assert starter["rating"] == {"average": None, "count": 0}  # the boost is no rating


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_readers_activity_adds_to_the_seed_and_the_boost(author):
    book = published(author)
    Book.objects.filter(id=book["id"]).update(popularity_seed=400, editorial_boost=50, popularity=450)
    services.book_stats_set(book_id=book["id"], popularity=30)
    assert Book.objects.get(id=book["id"]).popularity == 480
    services.book_stats_set(book_id=book["id"], popularity=10)  # activity is set, not added up
    assert Book.objects.get(id=book["id"]).popularity == 460


# --- a reader's shelf ----------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_reader_keeps_books_on_their_own_shelf(author, reader, anonymous):
    books = [published(author, title=f"Roman {n}") for n in range(3)]
    for book in books:
        book_file(author, book["id"])
    assert anonymous.get("/me/shelf").status_code == 401
    assert anonymous.put(f"/me/shelf/{books[0]['id']}").status_code == 401
    assert reader.get("/me/shelf").data == {"items": [], "next_cursor": None, "limit": 20}

    for book in (books[1], books[0], books[2], books[0]):  # the same book twice: once on the shelf
        response = reader.put(f"/me/shelf/{book['id']}")
        assert response.status_code == 204 and response.content == b""
    shelf = reader.get("/me/shelf")
    assert shelf.status_code == 200 and shelf["Cache-Control"] == "private, no-store"
    assert [b["id"] for b in shelf.data["items"]] == [books[2]["id"], books[0]["id"], books[1]["id"]]
    assert [b["id"] for b in all_pages(reader, "/me/shelf", 1)] == [b["id"] for b in shelf.data["items"]]
    assert author.get("/me/shelf").data["items"] == []  # the author's own books are not their shelf

    assert reader.delete(f"/me/shelf/{books[0]['id']}").status_code == 204
    assert reader.delete(f"/me/shelf/{books[0]['id']}").status_code == 204  # idempotent
    assert [b["id"] for b in reader.get("/me/shelf").data["items"]] == [books[2]["id"], books[1]["id"]]

    unknown = reader.put("/me/shelf/00000000-0000-4000-8000-000000000000")
    assert unknown.status_code == 404 and unknown.data["error"]["code"] == "book_not_found"
    draft = author.post("/books", {"title": "Brouillon", "authors": ["Awa"]})
    assert reader.put(f"/me/shelf/{draft.data['id']}").status_code == 404  # readers never see drafts
    assert reader.get("/me/shelf?cursor=bm9uc2Vuc2U").status_code == 422



@pytest.mark.django_db(transaction=True, databases="__all__")
def test_a_book_the_reader_buys_goes_on_their_shelf_once(author, reader):
    from coko.devtools.testing.events import deliver_pending
    from coko.domains.payments.testing import book_bought, sellable_books_sync

    book = published(author, title="Le Baobab fou", access_model="sale", price_amount=3000, price_currency="XOF")
    book_file(author, book["id"])
    sellable_books_sync()
    book_bought(user_id=reader.user_id, book_id=book["id"])
    assert deliver_pending(producer="payments", handler="catalog.shelf_add_purchase") == 1
    assert deliver_pending(producer="payments", handler="catalog.shelf_add_purchase") == 0  # applied once
    assert [b["id"] for b in reader.get("/me/shelf").data["items"]] == [book["id"]]
