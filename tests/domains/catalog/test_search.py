"""Book search (GET /api/v1/books/search), PostgreSQL full-text search: what readers can count on.

Accents and case never matter, French and English words are found by their stem, a half-typed
word is a prefix, a typo still finds the book; title matches come first, then popular books;
filters narrow the results and the facet counts describe every match, not just the page.
Only published books are ever found, as they are now.
"""

from __future__ import annotations

import pytest
from django.db import connections

from coko.domains.catalog import search
from coko.domains.catalog.search import SearchFilters, pg

from .conftest import published
from .search_conftest import categories, found, ids, popularity_set, searched, shelf  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def search_ids(query: str, **filters) -> list[str]:
    """The backend's answer, bypassing HTTP (to send a query exactly as typed)."""
    result = search.books_search(query=query, filters=SearchFilters(**filters), limit=50)
    return [hit.book_id for hit in result.hits]


def test_the_embedded_backend_is_postgresql():
    assert search.backend().name == "postgres"


def test_accents_and_case_never_matter(anonymous, shelf):
    for q in ("Senghor", "senghor", "SENGHOR", "Sénghor", "sénghor", "Léopold", "leopold"):
        assert found(anonymous, q) == [shelf["chants"]["id"]], q
    for q in ("Bâ", "Ba", "ba", "Mariama Ba", "mariama bâ"):
        assert found(anonymous, q) == [shelf["lettre"]["id"]], q
    # accents in the book, none in the query, and the other way round
    assert found(anonymous, "Aissatou") == [shelf["lettre"]["id"]]
    assert found(anonymous, "aventure ambigue") == [shelf["aventure"]["id"]]
    assert found(anonymous, "ambiguë") == [shelf["aventure"]["id"]]
    assert found(anonymous, "Ngugi") == [shelf["weep"]["id"]]
    assert found(anonymous, "Ngũgĩ") == [shelf["weep"]["id"]]
    assert found(anonymous, "Écrit") == found(anonymous, "ecrit") == [shelf["lettre"]["id"]]


def test_french_and_english_words_are_found_by_their_stem(anonymous, shelf):
    # a trailing space ends the last word: no prefix matching, only stemming
    assert search_ids("lettres ") == [shelf["lettre"]["id"]]  # French plural → "lettre"
    assert search_ids("poème ") == [shelf["chants"]["id"]]  # "Poèmes" in the description
    assert search_ids("running ") == [shelf["run"]["id"]]  # English: running → run
    assert search_ids("wrestlers ") == [shelf["things"]["id"]]
    assert found(anonymous, "lettres") == [shelf["lettre"]["id"]]
    # stop words are left out rather than required: "la" and "the" are in no title here
    assert found(anonymous, "la lettre") == [shelf["lettre"]["id"]]
    assert found(anonymous, "the things") == [shelf["things"]["id"]]


def test_a_half_typed_word_is_a_prefix(anonymous, shelf):
    assert found(anonymous, "sengh") == [shelf["chants"]["id"]]
    assert found(anonymous, "Mariam") == [shelf["lettre"]["id"]]
    assert found(anonymous, "things fal") == [shelf["things"]["id"]]
    assert found(anonymous, "chinu") == [shelf["things"]["id"]]
    assert found(anonymous, "ombre sengh") == [shelf["chants"]["id"]]


def test_typos_still_find_the_book(anonymous, shelf):
    assert found(anonymous, "Senghr") == [shelf["chants"]["id"]]
    assert found(anonymous, "Achebee") == [shelf["things"]["id"]]
    assert found(anonymous, "Ngugi wa Tiongo") == [shelf["weep"]["id"]]
    assert found(anonymous, "Mariama Baa")[0] == shelf["lettre"]["id"]
    assert found(anonymous, "Hamidou Kan") == [shelf["aventure"]["id"]]
    # but not anything at all
    assert found(anonymous, "xylophone quantique") == []


def test_a_title_match_beats_a_description_match_and_ties_go_to_the_popular(author, anonymous):
    title = published(author, title="Le Soleil des indépendances", authors=["Ahmadou Kourouma"],
                      description="Fama, dernier prince du Horodougou.")
    described = published(author, title="Xala", authors=["Ousmane Sembène"],
                          description="Sous le soleil de Dakar, un homme d'affaires.")
    popularity_set(described["id"], 1000)  # much more popular: relevance still comes first
    assert found(anonymous, "soleil") == [title["id"], described["id"]]

    quiet = published(author, title="Poèmes choisis", authors=["Birago Diop"], description="")
    loved = published(author, title="Poèmes choisis", authors=["Bernard Dadié"], description="")
    popularity_set(quiet["id"], 5)
    popularity_set(loved["id"], 500)
    assert found(anonymous, "poèmes choisis") == [loved["id"], quiet["id"]]

    # author matches (B) come before subtitle and category matches (C) and description (D)
    by_name = published(author, title="Contes", authors=["Amadou Koumba"], description="")
    in_text = published(author, title="Récits", authors=["Awa Ndiaye"], description="Les contes d'Amadou Koumba.")
    popularity_set(in_text["id"], 900)
    assert found(anonymous, "Koumba") == [by_name["id"], in_text["id"]]


def test_pages_of_results(anonymous, shelf):
    first = searched(anonymous, q="sahel", limit=4)
    assert first.status_code == 200, first.data
    assert first.data["total"] == 6 and first.data["sort"] == "relevance"
    second = searched(anonymous, q="sahel", limit=4, cursor=first.data["next_cursor"])
    assert second.data["next_cursor"] is None
    assert ids(searched(anonymous, q="sahel", limit=4, offset=4)) == ids(second)
    every = ids(first) + ids(second)
    # equal relevance: by popularity
    assert every == [shelf[k]["id"] for k in ("lettre", "chants", "things", "weep", "aventure", "run")]
    card = first.data["items"][0]
    assert card["title"] == "Une si longue lettre" and card["authors"][0]["name"] == "Mariama Bâ"


def test_a_client_following_next_cursor_walks_every_result_once_and_stops(anonymous, shelf):
    """The loop a client writes: ask, then ask again with ``cursor=next_cursor`` until there
    is none. (It used to get page 1 again for ever.)"""
    seen, cursor = [], None
    for _ in range(10):
        page = searched(anonymous, q="sahel", limit=2, **({"cursor": cursor} if cursor else {}))
        seen += ids(page)
        cursor = page.data["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6 and cursor is None


def test_search_refuses_what_it_does_not_do(anonymous, shelf):
    """Search results come best first: the list sorts are refused, not silently ignored; a
    cursor of /books, or a made-up one, is an invalid cursor."""
    for sort in ("newest", "title", "popularity"):
        response = searched(anonymous, q="sahel", sort=sort)
        assert response.status_code == 422, sort
    list_cursor = anonymous.get("/books?limit=1").data["next_cursor"]
    for cursor in (list_cursor, "bm9wZQ", "WyJyZWxldmFuY2UiLDEwMDAwMDAsIiJd", "WyJyZWxldmFuY2UiLC0yLCIiXQ"):
        response = searched(anonymous, q="sahel", cursor=cursor)
        assert response.status_code == 422 and response.data["error"]["code"] == "invalid_cursor", cursor
    assert searched(anonymous, q="sahel", sort="relevance").status_code == 200


def test_filters(anonymous, shelf):
    def q(**params):
        return set(found(anonymous, "sahel", **params))

    b = {k: v["id"] for k, v in shelf.items()}
    assert q(category="fiction") == {b["lettre"], b["things"], b["weep"], b["run"]}  # descendants included
    assert q(category="novels") == {b["lettre"], b["weep"]}
    assert q(category="poetry") == {b["chants"]}
    assert q(category="no-such-category") == set()
    assert q(author=shelf["things"]["authors"][0]["id"]) == {b["things"]}
    assert q(language="en") == {b["things"], b["weep"], b["run"]}
    assert q(access_model="sale") == {b["chants"], b["aventure"]}
    # prices in XOF (10.00 EUR is 6,560 XOF at the fixed parity); as in the catalogue, a
    # maximum price lets books without a price through, a minimum does not
    assert q(price_min=5000) == {b["chants"]}
    assert q(price_max=5000) == {b["lettre"], b["things"], b["weep"], b["aventure"], b["run"]}
    assert q(price_min=2000, price_max=5000) == {b["aventure"]}
    assert q(language="fr", access_model="sale", category="poetry") == {b["chants"]}


def test_facet_counts_describe_every_match_not_just_the_page(anonymous, shelf):
    response = searched(anonymous, q="sahel", limit=1)
    assert response.status_code == 200, response.data
    assert len(response.data["items"]) == 1 and response.data["total"] == 6
    assert response.data["facets"] == {
        "language": {"en": 3, "fr": 3},
        "access_model": {"free": 3, "sale": 2, "subscription": 1},
        # a book counts for its categories and their ancestors, once ("Weep Not, Child" is
        # filed under both fiction and novels): a count is what filtering by it finds
        "category": {"fiction": 4, "novels": 2, "poetry": 1},
    }
    filtered = searched(anonymous, q="sahel", category="fiction")
    assert filtered.data["total"] == 4
    assert filtered.data["facets"] == {"language": {"en": 3, "fr": 1}, "access_model": {"free": 3, "subscription": 1},
                                       "category": {"fiction": 4, "novels": 2}}
    nothing = searched(anonymous, q="zzyzx")
    assert nothing.data["total"] == 0
    assert nothing.data["facets"] == {"language": {}, "access_model": {}, "category": {}}


def test_categories_and_series_are_searched_too(author, anonymous, shelf):
    assert found(anonymous, "poetry") == [shelf["chants"]["id"]]
    assert found(anonymous, "poésie") == [shelf["chants"]["id"]]  # the category's French name
    sundiata = published(author, title="Soundjata", authors=["Djibril Tamsir Niane"], series="Épopées mandingues",
                         subtitle="ou l'épopée mandingue")
    assert found(anonymous, "epopees mandingues") == [sundiata["id"]]


def test_drafts_and_withdrawn_books_are_never_found(author, anonymous):
    draft = author.post("/books", {"title": "Zanzibar secret", "authors": ["Abdulrazak Gurnah"], "language": "en"})
    assert draft.status_code == 201, draft.data
    gone = published(author, title="Zanzibar perdu", authors=["Abdulrazak Gurnah"])
    assert found(anonymous, "zanzibar") == [gone["id"]]
    assert author.post(f"/books/{gone['id']}/withdraw", {"reason": "rights"}).status_code == 200
    for q in ("zanzibar", "Zanzibr", "gurnah", "zanzibar secret"):  # also through the typo fallback
        response = searched(anonymous, q=q)
        assert response.data["total"] == 0 and response.data["items"] == [], q


def test_a_changed_book_is_found_as_it_is_now(author, anonymous):
    book = published(author, title="Le Ventre de l'Atlantique", authors=["Fatou Diome"])
    assert found(anonymous, "atlantique") == [book["id"]]
    changed = author.patch(f"/books/{book['id']}", {"title": "Celles qui attendent",
                                                    "authors": ["Fatou Diome", "Aminata Sow Fall"]})
    assert changed.status_code == 200, changed.data
    assert found(anonymous, "attendent") == [book["id"]]
    assert found(anonymous, "atlantique") == []
    assert found(anonymous, "sow fall") == [book["id"]]


def test_odd_queries_are_answered(anonymous, shelf):
    assert searched(anonymous, q="!!! ??").data["total"] == 0
    assert searched(anonymous, q="l'").status_code == 200
    # stop words alone look for nothing (they are in nearly every book), near misses included
    for q in ("the", "The", "les", "à", "de la"):
        assert searched(anonymous, q=q).data["total"] == 0, q
    # a word found nowhere does not hide the book: the near-miss fallback still finds it
    assert found(anonymous, "Things Fall Apart (1958)") == [shelf["things"]["id"]]
    assert searched(anonymous, q="x" * 200).status_code == 200
    assert searched(anonymous, q="").status_code == 422


def test_documents_are_recomputed_in_bulk(shelf):
    with connections["catalog"].cursor() as cursor:
        cursor.execute("UPDATE catalog_book SET search_vector = NULL, search_text = ''")
    assert search_ids("senghor") == []
    assert search.documents_refresh_all() == 6
    assert search_ids("senghor") == [shelf["chants"]["id"]]
    assert search.documents_refresh_all() == 0  # nothing changed, nothing rewritten


def test_the_reindex_command_recomputes_the_documents(shelf, capsys):
    from django.core.management import call_command

    with connections["catalog"].cursor() as cursor:
        cursor.execute("UPDATE catalog_book SET search_vector = NULL WHERE id = %s", [shelf["things"]["id"]])
    call_command("search_reindex")
    assert "postgresql: 1 search documents changed" in capsys.readouterr().out
    assert search_ids("achebe") == [shelf["things"]["id"]]


def test_the_search_configuration_lives_in_the_catalog_schema():
    with connections["catalog"].cursor() as cursor:
        cursor.execute("SELECT e.extname, n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
                       " WHERE e.extname IN ('unaccent', 'pg_trgm') ORDER BY 1")
        assert cursor.fetchall() == [("pg_trgm", "catalog"), ("unaccent", "catalog")]
        cursor.execute("SELECT to_tsvector('fr_unaccent', 'Lettres de Sénghor')::text,"
                       " to_tsvector('en_unaccent', 'running Achebe''s')::text")
        assert cursor.fetchone() == ("'lettr':1 'senghor':3", "'acheb':2 'run':1")
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'catalog_book_search_trgm'")
        assert "gin_trgm_ops" in cursor.fetchone()[0]
    assert pg.query_words("  L'Aventure—ambiguë!  ") == ["l", "aventure", "ambiguë"]
