"""A book's reviews page by keyset cursors (most helpful, newest, best rated; one language),
stays right while people post, and costs one query; a reader lists their own reviews."""

from __future__ import annotations

import uuid

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from coko.domains.community import services

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def _seed(book_id, clock, ratings_and_languages) -> list:
    """Reviews by distinct readers, a minute apart (oldest first)."""
    reviews = []
    for rating, language in ratings_and_languages:
        reviews.append(services.review_post(user_id=uuid.uuid4(), book_id=book_id, rating=rating, language=language))
        clock.advance(60)
    return reviews


def _walk(api, url, limit) -> list[dict]:
    items, cursor = [], None
    while True:
        page = api.get(url + f"&limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        assert page.status_code == 200, page.data
        items += page.data["items"]
        cursor = page.data["next_cursor"]
        if cursor is None:
            return items


def test_newest_first_in_pages_that_stay_right_while_people_post(visitor, book, clock):
    older = _seed(book["id"], clock, [(3, "fr")] * 5)
    first = visitor.get(f"/books/{book['id']}/reviews?sort=newest&limit=2").data
    assert [r["id"] for r in first["items"]] == [str(older[4].id), str(older[3].id)]
    _seed(book["id"], clock, [(5, "fr")] * 3)  # new reviews arrive while the reader pages on
    rest = _walk(visitor, f"/books/{book['id']}/reviews?sort=newest&cursor={first['next_cursor']}", 2)
    assert [r["id"] for r in rest] == [str(r.id) for r in reversed(older[:3])]


def test_most_helpful_first_then_newest(reader, other_reader, visitor, book, clock):
    reviews = _seed(book["id"], clock, [(4, "fr"), (2, "fr"), (5, "en")])
    for voter in (reader, other_reader):
        voter.put(f"/community/reviews/{reviews[1].id}/helpful")
    reader.put(f"/community/reviews/{reviews[0].id}/helpful")
    items = _walk(visitor, f"/books/{book['id']}/reviews?sort=helpful", 1)
    assert [r["id"] for r in items] == [str(reviews[1].id), str(reviews[0].id), str(reviews[2].id)]


def test_best_rated_first_and_one_language(visitor, book, clock):
    reviews = _seed(book["id"], clock, [(2, "fr"), (5, "wo"), (4, "fr"), (5, "fr"), (1, "en")])
    best = _walk(visitor, f"/books/{book['id']}/reviews?sort=rating", 2)
    assert [r["rating"] for r in best] == [5, 5, 4, 2, 1]
    assert best[0]["id"] == str(reviews[3].id)  # equal ratings: newest first
    french = _walk(visitor, f"/books/{book['id']}/reviews?sort=rating&language=fr", 2)
    assert [(r["rating"], r["language"]) for r in french] == [(5, "fr"), (4, "fr"), (2, "fr")]


def test_a_cursor_of_another_sort_or_forged_is_refused(visitor, book, clock):
    _seed(book["id"], clock, [(3, "fr")] * 3)
    cursor = visitor.get(f"/books/{book['id']}/reviews?sort=newest&limit=1").data["next_cursor"]
    for bad in (cursor, "not-a-cursor", "WyJoZWxwZnVsIiwxXQ"):
        response = visitor.get(f"/books/{book['id']}/reviews?sort=helpful&cursor={bad}")
        assert response.status_code == 422 and response.data["error"]["code"] == "invalid_page_cursor", bad
    assert visitor.get(f"/books/{book['id']}/reviews?sort=loudest").status_code == 422


def test_a_page_of_reviews_is_one_query_however_long(visitor, book, clock):
    _seed(book["id"], clock, [(4, "fr")] * 30)
    cursor = visitor.get(f"/books/{book['id']}/reviews?limit=5").data["next_cursor"]
    with CaptureQueriesContext(connections["community"]) as queries:
        page = visitor.get(f"/books/{book['id']}/reviews?limit=20&cursor={cursor}")
    assert len(page.data["items"]) == 20
    assert len(queries) == 1, [q["sql"] for q in queries]


def test_a_reader_lists_their_own_reviews_newest_first(reader, author, book, clock):
    from coko.domains.catalog.testing import published_book

    other = published_book(author, title="Les Bouts de bois de Dieu")
    mine = []
    for b in (book, other):
        mine.append(reader.post(f"/books/{b['id']}/reviews", {"rating": 4}).data)
        clock.advance(1)
    services.review_post(user_id=uuid.uuid4(), book_id=book["id"], rating=1, language="fr")  # someone else's
    listed = _walk(reader, "/me/reviews?x=1", 1)
    assert [r["id"] for r in listed] == [mine[1]["id"], mine[0]["id"]]
