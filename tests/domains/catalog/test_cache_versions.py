"""The catalogue's cache survives change: each book's entries follow that book's own version,
so a burst of rating changes on one book leaves every other book's entries (and the pages)
served from the cache; an edit shows at once in the book's page and in the lists."""

from __future__ import annotations

import pytest
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from coko.domains.catalog import services
from coko.domains.catalog.opds import atom
from coko.domains.catalog.testing import book_with_file

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def _queries(read) -> tuple[int, object]:
    with CaptureQueriesContext(connections["catalog"]) as queries:
        answer = read()
    return len(queries), answer


@pytest.fixture
def five(author) -> list[dict]:
    return [book_with_file(author, title=f"Roman {n}") for n in range(5)]


def test_a_thousand_rating_changes_on_one_book_leave_the_others_cached(anonymous, five, monkeypatch):
    client = Client()
    rendered = []
    real = atom.entries_render
    monkeypatch.setattr(atom, "entries_render", lambda books, **kw: rendered.extend(b.id for b in books)
                        or real(books, **kw))
    for book in five:  # warm: each book's page, and the feed (its page and its books' entries)
        assert anonymous.get(f"/books/{book['id']}").status_code == 200
    assert client.get("/opds/new").status_code == 200
    assert sorted(rendered) == sorted(b["id"] for b in five)

    changed, others = five[0]["id"], [b["id"] for b in five[1:]]
    for n in range(1000):
        services.book_stats_set(book_id=changed, rating_average=1 + (n % 400) / 100, rating_count=n + 1)
    last = 1 + (999 % 400) / 100

    for book_id in others:  # still served from the cache: no query
        count, answer = _queries(lambda: anonymous.get(f"/books/{book_id}"))
        assert answer.status_code == 200 and count == 0, book_id
    count, answer = _queries(lambda: anonymous.get(f"/books/{changed}"))
    assert count == 1 and answer.data["rating"] == {"average": last, "count": 1000}  # at once, from the database
    count, _ = _queries(lambda: client.get("/opds/new"))
    assert count == 0  # the feed's page too: ratings do not bump anything catalogue-wide

    # the page built again (it expired, or the listings changed): the changed book's entry alone is rendered
    rendered.clear()
    services.collection_ensure(slug="rentree", name="Back to school", book_ids=others[:1])  # bumps the listings
    feed = client.get("/opds/new")
    assert feed.status_code == 200 and rendered == [changed]
    assert all(book_id.encode() in feed.content for book_id in others + [changed])


def test_an_edit_shows_at_once_in_the_book_and_in_the_lists(author, anonymous, five):
    book_id = five[2]["id"]
    assert anonymous.get(f"/books/{book_id}").data["title"] == "Roman 2"
    assert "Roman 2" in [b["title"] for b in anonymous.get("/books?sort=title").data["items"]]
    client = Client()
    assert b"Roman 2" in client.get("/opds/new").content
    assert author.patch(f"/books/{book_id}", {"title": "So Long a Letter"}).status_code == 200
    assert anonymous.get(f"/books/{book_id}").data["title"] == "So Long a Letter"
    assert "So Long a Letter" in [b["title"] for b in anonymous.get("/books?sort=title").data["items"]]
    assert b"So Long a Letter" in client.get("/opds/new").content
    assert b"So Long a Letter" in client.get(f"/opds/books/{book_id}").content
