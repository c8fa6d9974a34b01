"""Reading the catalogue: filters, sorts, stable pages, small payloads, caching and 304s."""

from __future__ import annotations

import gzip
import json

import brotli
import pytest

from coko.domains.catalog import services

from .conftest import published

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def ids(response) -> list[str]:
    assert response.status_code == 200, response.data
    return [b["id"] for b in response.data["items"]]


def walk(client, path: str, **headers) -> list[str]:
    """Every id of a listing, following next_cursor to the end."""
    seen, cursor = [], None
    while True:
        sep = "&" if "?" in path else "?"
        response = client.get(path + (f"{sep}cursor={cursor}" if cursor else ""), **headers)
        seen += ids(response)
        cursor = response.data["next_cursor"]
        if not cursor:
            return seen


@pytest.fixture
def shelf(author, staff):
    staff.post("/categories", {"name": "Fiction", "slug": "fiction"})
    staff.post("/categories", {"name": "Novels", "slug": "novels", "parent": "fiction"})
    staff.post("/categories", {"name": "Poetry", "slug": "poetry"})
    books = {
        "lettre": published(author, categories=["novels"]),
        "aventure": published(author, title="L'Aventure ambiguë", authors=["Cheikh Hamidou Kane"],
                              access_model="sale", price_amount=3000, price_currency="XOF"),
        "things": published(author, title="Things Fall Apart", language="en", authors=["Chinua Achebe"],
                            access_model="subscription", categories=["fiction"]),
        "chants": published(author, title="Chants d'ombre", authors=["Léopold Sédar Senghor"],
                            categories=["poetry"], access_model="sale", price_amount=1000, price_currency="EUR"),
    }
    for popularity, key in enumerate(["lettre", "aventure", "things", "chants"]):
        services.book_stats_set(book_id=books[key]["id"], popularity=(popularity + 1) * 100,
                                rating_average=4 - popularity * 0.5, rating_count=10)
    from coko.domains.catalog import cache
    cache.catalog_changed()
    return books


def test_filters(anonymous, shelf):
    assert set(ids(anonymous.get("/books?category=fiction"))) == {shelf["lettre"]["id"], shelf["things"]["id"]}
    assert ids(anonymous.get("/books?category=novels")) == [shelf["lettre"]["id"]]
    assert ids(anonymous.get("/books?language=en")) == [shelf["things"]["id"]]
    assert ids(anonymous.get("/books?access_model=subscription")) == [shelf["things"]["id"]]
    achebe = shelf["things"]["authors"][0]["id"]
    assert ids(anonymous.get(f"/books?author={achebe}")) == [shelf["things"]["id"]]
    # price range in XOF: 10.00 EUR is 6,560 XOF at the fixed parity; free books have no price
    assert ids(anonymous.get("/books?price_min=5000")) == [shelf["chants"]["id"]]
    assert ids(anonymous.get("/books?price_min=1000&price_max=5000")) == [shelf["aventure"]["id"]]



def test_an_unknown_category_is_a_404_and_a_category_is_named_by_its_slug_or_its_path(anonymous, shelf):
    unknown = anonymous.get("/books?category=no-such")
    assert unknown.status_code == 404 and unknown.data["error"]["code"] == "category_not_found"
    novels = next(c for c in anonymous.get("/categories").data[0]["children"] if c["slug"] == "novels")
    assert novels["path"] != novels["slug"]
    assert ids(anonymous.get(f"/books?category={novels['path']}")) == ids(anonymous.get("/books?category=novels"))
    assert ids(anonymous.get("/books?category=novels")) == [shelf["lettre"]["id"]]


def test_sorts(anonymous, shelf):
    by = {k: v["id"] for k, v in shelf.items()}
    assert ids(anonymous.get("/books?sort=popularity")) == [by["chants"], by["things"], by["aventure"], by["lettre"]]
    assert ids(anonymous.get("/books?sort=rating")) == [by["lettre"], by["aventure"], by["things"], by["chants"]]
    assert ids(anonymous.get("/books?sort=newest")) == [by["chants"], by["things"], by["aventure"], by["lettre"]]
    assert ids(anonymous.get("/books?sort=title")) == [by["chants"], by["aventure"], by["things"], by["lettre"]]


def test_the_title_sort_follows_the_title_the_reader_is_shown(author, anonymous, shelf):
    """An English reader finds "So Long a Letter" under S, a French reader "Une si longue
    lettre" under U: the order is that of the titles each is shown, page after page."""
    by = {k: v["id"] for k, v in shelf.items()}
    assert author.patch(f"/books/{by['lettre']}", {"translations": {"en": {"title": "So Long a Letter"}}}
                        ).status_code == 200
    english = walk(anonymous, "/books?sort=title&limit=1", HTTP_ACCEPT_LANGUAGE="en")
    french = walk(anonymous, "/books?sort=title&limit=1", HTTP_ACCEPT_LANGUAGE="fr")
    # Chants d'ombre, L'Aventure ambiguë, So Long a Letter / Things Fall Apart, Une si longue lettre
    assert english == [by["chants"], by["aventure"], by["lettre"], by["things"]]
    assert french == [by["chants"], by["aventure"], by["things"], by["lettre"]]


def test_bad_parameters_are_refused(anonymous, shelf):
    for query in ("sort=cheapest", "limit=0", "limit=1000", "access_model=rent", "language=FRENCH",
                  "cursor=not-a-cursor", "fields=title,secret", "order=up", "sort=-year",
                  "publisher=nope", "series=nope"):
        response = anonymous.get(f"/books?{query}")
        assert response.status_code == 422, query
        assert "error" in response.data
    popular = anonymous.get("/books?limit=1").data["next_cursor"]
    mixed = anonymous.get(f"/books?sort=title&cursor={popular}")  # a cursor belongs to its sort
    assert mixed.status_code == 422 and mixed.data["error"]["code"] == "invalid_cursor"


def test_pages_are_stable_when_books_are_added(author, anonymous, shelf):
    first = anonymous.get("/books?sort=title&limit=2")
    assert len(first.data["items"]) == 2
    # a book that sorts before the cursor arrives between two page requests
    published(author, title="Aaa, the first title")
    rest = walk(anonymous, f"/books?sort=title&limit=2&cursor={first.data['next_cursor']}")
    everything = ids(first) + rest
    assert len(everything) == len(set(everything)) == 4  # nothing repeated, nothing skipped
    assert len(walk(anonymous, "/books?sort=title&limit=3")) == 5


def test_ties_are_broken_by_id(author, anonymous):
    made = [published(author, title=f"Livre {n}")["id"] for n in range(5)]  # all popularity 0
    assert walk(anonymous, "/books?sort=popularity&limit=2") == sorted(made)


def test_sparse_responses_for_slow_networks(anonymous, shelf):
    response = anonymous.get("/books?fields=title,cover")
    assert response.status_code == 200
    assert all(set(item) == {"id", "title", "cover"} for item in response.data["items"])
    full = anonymous.get("/books")
    assert len(response.content) < len(full.content) / 2


def test_unchanged_reads_answer_304(anonymous, shelf):
    first = anonymous.get("/books")
    etag = first["ETag"]
    assert etag
    again = anonymous.get("/books", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    book = anonymous.get(f"/books/{shelf['lettre']['id']}")
    assert anonymous.get(f"/books/{shelf['lettre']['id']}", HTTP_IF_NONE_MATCH=book["ETag"]).status_code == 304


def test_an_update_invalidates_cached_reads(author, anonymous, shelf):
    book_id = shelf["lettre"]["id"]
    before = anonymous.get(f"/books/{book_id}")
    listed = anonymous.get("/books?sort=title")
    author.patch(f"/books/{book_id}", {"title": "So Long a Letter"})
    after = anonymous.get(f"/books/{book_id}", HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and after.data["title"] == "So Long a Letter"
    relisted = anonymous.get("/books?sort=title", HTTP_IF_NONE_MATCH=listed["ETag"])
    assert relisted.status_code == 200
    assert "So Long a Letter" in [b["title"] for b in relisted.data["items"]]


def test_the_event_handler_invalidates_too(anonymous, shelf):
    """The durable path: had the web process died before its after-commit bump, the
    book.updated handler would still invalidate the cached reads of that book and the pages."""
    from coko.domains.catalog import api
    from coko.domains.catalog.models import Book

    book_id = shelf["lettre"]["id"]
    assert anonymous.get(f"/books/{book_id}").data["title"] == "Une si longue lettre"
    assert "Une si longue lettre" in [b["title"] for b in anonymous.get("/books?sort=title").data["items"]]
    Book.objects.filter(id=book_id).update(title="So Long a Letter")  # a change whose bump was lost
    assert anonymous.get(f"/books/{book_id}").data["title"] == "Une si longue lettre"  # still cached
    api.book_changed_apply(book_id=book_id)
    assert anonymous.get(f"/books/{book_id}").data["title"] == "So Long a Letter"
    assert "So Long a Letter" in [b["title"] for b in anonymous.get("/books?sort=title").data["items"]]


def test_reads_are_gzipped_on_request(anonymous, shelf):
    response = anonymous.client.get("/api/v1/books", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    assert json.loads(gzip.decompress(response.content))["items"]
    plain = anonymous.client.get("/api/v1/books", HTTP_ACCEPT_ENCODING="identity")
    assert not plain.has_header("Content-Encoding")


def test_search_is_rate_limited_per_address(anonymous, shelf, settings):
    settings.COKO_CATALOG = {**settings.COKO_CATALOG, "SEARCH_PER_MIN": 3}
    answers = [anonymous.get(f"/books/search?q=lettre{n}").status_code for n in range(4)]
    assert answers == [200, 200, 200, 429]


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_one_statement_detail_is_the_full_book(author, staff, lang):
    """``book_detail`` (one SQL statement, the hot uncached read) says exactly what the ORM
    rendering of the book says: credits in order, categories, editions and formats, series,
    translations."""
    from coko.domains.catalog import selectors
    from coko.domains.catalog.models import Book

    from .conftest import book_file

    staff.post("/categories", {"name": "Novels", "slug": "novels", "translations": {"fr": "Romans"}})
    book = published(author, isbn="2-84261-030-X", categories=["novels"], series="Lettres", series_position=1,
                     publisher="NEA", publication_date="1979-01-01", access_model="sale", price_amount=1500,
                     price_currency="XOF", authors=["Mariama Bâ", {"name": "Modupé Bodé-Thomas", "role": "translator"}],
                     translations={"en": {"title": "So Long a Letter", "description": "A letter."}})
    book_file(author, book["id"])
    book_file(author, book["id"], "pdf")
    expected = selectors.book_full(selectors.with_everything(Book.objects.filter(id=book["id"])).get(), lang=lang)
    assert selectors.book_detail(book_id=book["id"], lang=lang) == expected


def test_a_lost_version_never_revives_old_pages(anonymous, shelf, cache_redis, settings):
    """Redis restarted without persistence, or evicted the pages' version: the next version is
    new, so pages cached under an old one are not served again."""
    from coko.domains.catalog import cache
    from coko.domains.catalog.models import Book

    cache.catalog_changed()
    book_id = shelf["lettre"]["id"]
    assert "Une si longue lettre" in [b["title"] for b in anonymous.get("/books?sort=title").data["items"]]
    Book.objects.filter(id=book_id).update(title="So Long a Letter")
    cache_redis.delete(f"{settings.REDIS_NAMESPACE}:v:{cache.LISTINGS}")  # evicted by the LRU
    cache.catalog_changed()
    assert "So Long a Letter" in [b["title"] for b in anonymous.get("/books?sort=title").data["items"]]


def test_gzipped_and_plain_reads_say_the_same_and_both_answer_304(anonymous, shelf):
    client = anonymous.client
    packed = client.get("/api/v1/books?sort=title", HTTP_ACCEPT_ENCODING="gzip, deflate")
    plain = client.get("/api/v1/books?sort=title")
    assert packed["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed["Vary"]
    assert json.loads(gzip.decompress(packed.content)) == json.loads(plain.content)
    assert client.get("/api/v1/books?sort=title", HTTP_ACCEPT_ENCODING="gzip",
                      HTTP_IF_NONE_MATCH=packed["ETag"]).status_code == 304
    assert client.get("/api/v1/books?sort=title", HTTP_IF_NONE_MATCH=plain["ETag"]).status_code == 304


def test_reads_are_brotli_on_request_and_say_what_the_plain_read_says(anonymous, shelf):
    """The catalogue caches each coding once: a reader asking for ``br`` gets the cached
    Brotli bytes, with the same ETag (weakened) and a 304 when it sends it back."""
    client = anonymous.client
    plain = client.get("/api/v1/books?sort=title")
    for _ in range(2):  # the second answer comes from the cache
        packed = client.get("/api/v1/books?sort=title", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
        assert packed["Content-Encoding"] == "br" and "Accept-Encoding" in packed["Vary"]
        assert json.loads(brotli.decompress(packed.content)) == json.loads(plain.content)
        assert packed["ETag"] == "W/" + plain["ETag"]
    assert client.get("/api/v1/books?sort=title", HTTP_ACCEPT_ENCODING="br",
                      HTTP_IF_NONE_MATCH=packed["ETag"]).status_code == 304


def test_a_missing_book_is_a_404_in_every_coding(anonymous, shelf):
    missing = "/api/v1/books/00000000-0000-4000-8000-000000000000"
    for encoding in ("identity", "gzip", "br"):
        for _ in range(2):  # built, then from the cache
            response = anonymous.client.get(missing, HTTP_ACCEPT_ENCODING=encoding)
            assert response.status_code == 404, encoding
            assert response.json()["error"]["code"] == "book_not_found"


def test_a_book_nobody_has_rated_has_no_average_rather_than_zero(author, anonymous):
    book, rated = published(author, title="Nouveau"), published(author, title="Noté")
    services.book_stats_set(book_id=rated["id"], rating_average=4.5, rating_count=2)
    cards = {b["id"]: b["rating"] for b in anonymous.get("/books?sort=newest").data["items"]}
    assert cards[book["id"]] == {"average": None, "count": 0}
    assert cards[rated["id"]] == {"average": 4.5, "count": 2}
    assert anonymous.get(f"/books/{book['id']}").data["rating"] == {"average": None, "count": 0}
    assert anonymous.get(f"/books/{rated['id']}").data["rating"] == {"average": 4.5, "count": 2}


def test_every_language_of_the_site_has_its_title_sort_index(settings):
    """``Book.Meta`` indexes the title shown in each language of ``settings.LANGUAGES``: a
    language added to the site without its index would sort its readers' titles unindexed."""
    from coko.domains.catalog.models import TITLE_LANGUAGES, Book

    assert TITLE_LANGUAGES == tuple(code for code, _ in settings.LANGUAGES)
    assert {f"catalog_book_title_{lang}" for lang in TITLE_LANGUAGES} <= {i.name for i in Book._meta.indexes}
