"""Book search with OpenSearch (``OPENSEARCH_URL`` set), end to end against osmem.

osmem (the ``osmem-server`` package) is an in-memory, OpenSearch-compatible server started
on loopback for these tests; each test gets a clone of it. The catalog's own events
(``book.published`` / ``book.updated`` / ``book.withdrawn``, read from its outbox) are
applied the way the worker applies them — through the inbox, to the handler that calls
``api.book_changed_apply`` — and readers search through ``GET /api/v1/books/search``.

What osmem cannot prove (it is not OpenSearch): BM25 scores and ties (bleve's BM25, not
Lucene's), refresh delays (its writes are visible at once), sharding, and analyzers it
does not implement at indexing time (see the report of issue 5 in the README). The mapping
uses only components osmem implements, and the tests check them through ``_analyze``.
"""

from __future__ import annotations

import threading

import pytest
from osmem_server import OsmemServer

from coko.devtools.testing.events import deliver_pending
from coko.domains.catalog import api, search
from coko.domains.catalog.search import SearchFilters
from coko.domains.catalog.search import opensearch as os_backend

from .conftest import published
from .search_conftest import categories, found, popularity_set, searched, shelf  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

ALIAS = "coko-books-test"


@pytest.fixture(scope="session")
def osmem():
    """One osmem server per test process (Japanese analysis off: faster start, not needed)."""
    server = OsmemServer.start(japanese=False)
    yield server
    server.close()


@pytest.fixture
def opensearch(osmem, settings):
    """``OPENSEARCH_URL`` pointing at a fresh osmem clone: the catalog now searches there."""
    clone = osmem.clone()
    settings.OPENSEARCH_URL = clone.url
    settings.OPENSEARCH_INDEX = ALIAS
    backend = search.backend()
    assert backend.name == "opensearch"
    yield backend
    clone.close()


def events_apply() -> int:
    """Deliver the catalog's pending book events to its handler, as the worker does (inbox,
    one transaction); returns how many were applied. Delivering twice changes nothing."""
    return deliver_pending(producer="catalog", handler="catalog.book_changed_sync")


def indexed(backend) -> dict[str, dict]:
    response = backend.client.search(index=ALIAS, body={"query": {"match_all": {}}, "size": 100})
    return {hit["_id"]: hit["_source"] for hit in response["hits"]["hits"]}


def test_the_index_follows_the_catalog_events(opensearch, shelf, author):
    assert events_apply() == 6
    documents = indexed(opensearch)
    assert set(documents) == {book["id"] for book in shelf.values()}
    chants = documents[shelf["chants"]["id"]]
    assert chants["authors"] == ["Léopold Sédar Senghor"] and chants["price_xof"] == 6560
    assert documents[shelf["weep"]["id"]]["category_slugs"] == ["fiction", "novels"]
    # the index lives behind the alias, in a timestamped index
    (index,) = opensearch.client.indices.get_alias(name=ALIAS)
    assert index.startswith(f"{ALIAS}-")

    # a change is applied: found by its new title, not by the old one
    book = shelf["lettre"]["id"]
    assert author.patch(f"/books/{book}", {"title": "Une si longue attente"}).status_code == 200
    events_apply()
    assert found(author, "attente") == [book]
    assert found(author, "longue lettre") == []
    # a withdrawn book leaves the index
    assert author.post(f"/books/{shelf['run']['id']}/withdraw", {}).status_code == 200
    events_apply()
    assert shelf["run"]["id"] not in indexed(opensearch)
    assert found(author, "long run") == []
    # applying the same change again, or late, changes nothing
    api.book_changed_apply(book_id=book)
    api.book_changed_apply(book_id=shelf["run"]["id"])
    assert set(indexed(opensearch)) == {b["id"] for k, b in shelf.items() if k != "run"}
    assert indexed(opensearch)[book]["title"] == ["Une si longue attente"]


def test_an_older_copy_never_overwrites_a_newer_one(opensearch, shelf):
    events_apply()
    book = shelf["things"]["id"]
    current = indexed(opensearch)[book]
    newer = {**current, "title": ["A newer title"], "version": current["version"] + 5}
    opensearch.client.index(index=ALIAS, id=book, body=newer,
                            params={"version": newer["version"], "version_type": "external_gte"})
    api.book_changed_apply(book_id=book)  # reads version N from the database: stale, ignored
    assert indexed(opensearch)[book]["title"] == ["A newer title"]


def test_readers_search_opensearch(opensearch, shelf, anonymous):
    events_apply()
    b = {k: v["id"] for k, v in shelf.items()}
    # accents and case
    for q in ("Senghor", "sénghor", "SENGHOR", "Leopold"):
        assert found(anonymous, q) == [b["chants"]], q
    assert found(anonymous, "Ba") == found(anonymous, "Bâ") == [b["lettre"]]
    assert found(anonymous, "ambigue") == [b["aventure"]]
    # apostrophes: "Chants d'ombre", "Thiong'o"
    assert found(anonymous, "ombre") == [b["chants"]]
    assert found(anonymous, "Thiong'o child") == [b["weep"]]
    # stems, French and English
    assert found(anonymous, "lettres") == [b["lettre"]]
    assert found(anonymous, "running") == [b["run"]]
    # prefixes and typos
    assert found(anonymous, "sengh") == [b["chants"]]
    assert found(anonymous, "Senghr") == [b["chants"]]
    assert found(anonymous, "Achebee") == [b["things"]]
    assert found(anonymous, "Ngugi wa Tiongo") == [b["weep"]]
    # filters
    assert set(found(anonymous, "sahel", category="fiction")) == {b["lettre"], b["things"], b["weep"], b["run"]}
    assert found(anonymous, "sahel", category="poetry") == [b["chants"]]
    assert set(found(anonymous, "sahel", language="en")) == {b["things"], b["weep"], b["run"]}
    assert set(found(anonymous, "sahel", access_model="sale")) == {b["chants"], b["aventure"]}
    assert found(anonymous, "sahel", author=shelf["things"]["authors"][0]["id"]) == [b["things"]]
    assert found(anonymous, "sahel", price_min=5000) == [b["chants"]]
    assert set(found(anonymous, "sahel", price_max=5000)) == set(b.values()) - {b["chants"]}
    # facets over every match, from aggregations
    response = searched(anonymous, q="sahel", limit=1)
    assert response.data["total"] == 6 and len(response.data["items"]) == 1
    assert response.data["facets"] == {
        "language": {"en": 3, "fr": 3},
        "access_model": {"free": 3, "sale": 2, "subscription": 1},
        "category": {"fiction": 4, "novels": 2, "poetry": 1},
    }
    # nothing unpublished is there to be found
    assert found(anonymous, "zzyzx") == []


def test_ranking_title_first_then_popularity(opensearch, author, anonymous):
    title = published(author, title="Le Soleil des indépendances", authors=["Ahmadou Kourouma"], description="")
    described = published(author, title="Xala", authors=["Ousmane Sembène"], description="Sous le soleil de Dakar.")
    quiet = published(author, title="Poèmes choisis", authors=["Birago Diop"], description="")
    loved = published(author, title="Poèmes choisis", authors=["Bernard Dadié"], description="")
    popularity_set(described["id"], 1000)
    popularity_set(loved["id"], 500)
    events_apply()
    assert found(anonymous, "soleil") == [title["id"], described["id"]]
    assert found(anonymous, "poèmes choisis") == [loved["id"], quiet["id"]]


def test_reindex_swaps_the_alias_while_searches_keep_answering(opensearch, shelf, author, monkeypatch):
    events_apply()
    client = opensearch.client
    (old,) = client.indices.get_alias(name=ALIAS)
    expected = {book["id"] for book in shelf.values()}

    answers: list[set] = []
    stop = threading.Event()

    def keep_searching():
        while not stop.is_set():
            result = opensearch.search(query="sahel", filters=SearchFilters(), limit=50, offset=0, lang="fr")
            answers.append({hit.book_id for hit in result.hits})

    during: dict = {}
    original_bulk = os_backend.helpers.streaming_bulk

    def bulk_then_change(*args, **kwargs):
        yield from original_bulk(*args, **kwargs)
        # loaded, not yet swapped: readers still get the old index, and a change made now
        # goes to both indices (the building one through its own alias)
        during["aliases"] = client.indices.get_alias(name=ALIAS)
        during["answer"] = {hit.book_id for hit in opensearch.search(
            query="sahel", filters=SearchFilters(), limit=50, offset=0, lang="fr").hits}
        assert author.patch(f"/books/{shelf['things']['id']}", {"title": "Things Fall Apart Again"}).status_code == 200
        events_apply()

    monkeypatch.setattr(os_backend.helpers, "streaming_bulk", bulk_then_change)
    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        result = search.reindex()
    finally:
        stop.set()
        searcher.join()

    assert list(during["aliases"]) == [old]
    assert during["answer"] == expected
    new = result["index"]
    assert new != old and result["books"] == 6 and result["replaced"] == [old]
    assert list(client.indices.get_alias(name=ALIAS)) == [new]  # swapped
    assert not client.indices.exists(index=old)  # and the old index deleted
    assert not client.indices.exists_alias(name=f"{ALIAS}-building")
    assert indexed(opensearch)[shelf["things"]["id"]]["title"] == ["Things Fall Apart Again"]
    assert answers and all(answer == expected for answer in answers)  # never an empty or partial answer


def test_reindex_from_scratch_and_the_command(opensearch, shelf, capsys):
    from django.core.management import call_command

    call_command("search_reindex")  # no index yet: one is created behind the alias
    first = list(opensearch.client.indices.get_alias(name=ALIAS))
    assert len(indexed(opensearch)) == 6
    call_command("search_reindex", "--postgres")
    out = capsys.readouterr().out
    assert "opensearch: 6 books" in out and "postgresql:" in out
    assert list(opensearch.client.indices.get_alias(name=ALIAS)) != first


def test_the_analysers(opensearch):
    opensearch.ensure_index()

    def tokens(analyzer: str, text: str) -> list[str]:
        response = opensearch.client.indices.analyze(index=ALIAS, body={"analyzer": analyzer, "text": text})
        return [t["token"] for t in response["tokens"]]

    assert tokens("folded", "Chants d'ombre, Sénghor") == ["chants", "d", "ombre", "senghor"]
    assert tokens("fr_text", "Lettres d'Aïssatou") == ["lettr", "aissatou"]
    assert tokens("en_text", "Running Achebe's things") == ["run", "acheb", "thing"]
    assert tokens("prefix", "Bâ")[:1] == ["ba"]


def test_searches_fall_back_to_postgresql_when_opensearch_is_down(settings, shelf, anonymous):
    settings.OPENSEARCH_URL = "http://127.0.0.1:9"  # nothing listens there
    settings.OPENSEARCH_INDEX = ALIAS
    assert search.backend().name == "opensearch"
    assert found(anonymous, "Senghor") == [shelf["chants"]["id"]]
