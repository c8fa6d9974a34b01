"""Every catalogue read answers from PostgreSQL in a fixed, small number of statements: at most
three on the catalog database whatever the page size, the cache off (a cold read). A page of
60 books costs what a page of one does: the page's rows come with each book whole (credits
with the authors' names, categories, editions with their formats, publisher, series)
aggregated in SQL, never a query per book.

One test per route, each at page sizes 1 and 60, on a catalogue of 61 books made with the
catalog's testing factories (one author, category, publisher, series and collection for
them all, so that every filtered page is full)."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test import Client
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from lxml import etree

from coko.devtools.testing.api import Api
from coko.domains.accounts.testing import user_with_roles
from coko.domains.catalog import services
from coko.domains.catalog.testing import book_with_file

# Not a transactional test: the catalogue is made once per module (61 books through the API take
# seconds) and each test reads it inside its own transaction, rolled back; the module's rows
# are flushed after it, as a transactional test would.
pytestmark = pytest.mark.django_db(databases="__all__")

BOOKS = 61  # one more than the largest page: every page has a next one
MAX_QUERIES = 3
SIZES = (1, 60)


@pytest.fixture(scope="module")
def library(django_db_setup, django_db_blocker) -> dict:
    """61 published books with a file, all by one author, in one category (under a parent),
    publisher, series and collection; the cache off, so every read is cold."""
    with django_db_blocker.unblock(), override_settings(COKO_CATALOG={**settings.COKO_CATALOG, "CACHE_S": 0}):
        try:
            yield _library()
        finally:
            for alias in connections:
                call_command("flush", database=alias, interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def _cache_off(settings):
    settings.COKO_CATALOG = {**settings.COKO_CATALOG, "CACHE_S": 0}


def _library() -> dict:
    author = user_with_roles("author")
    staff = user_with_roles("admin")
    staff.post("/categories", {"name": "Fiction", "slug": "fiction"})
    staff.post("/categories", {"name": "Novels", "slug": "novels", "parent": "fiction"})
    books = [book_with_file(author, title=f"Roman {n}", authors=["Mariama Bâ", {"name": "Aminata Sow Fall",
                                                                                 "role": "translator"}],
                            categories=["novels"], publisher="NEA", series="Classiques africains",
                            series_position=n + 1, publication_year=1950 + n)
             for n in range(BOOKS)]
    services.collection_ensure(slug="rentree", name="Back to school", book_ids=[b["id"] for b in books])
    one = Api(ip="41.82.200.9").get(f"/books/{books[0]['id']}").data
    return {"books": books, "author_id": one["authors"][0]["id"],
            "publisher_id": one["publisher_id"], "series_id": one["series"]["id"]}


#: in production a read's transaction is BEGIN/COMMIT, which Django does not log as queries; in
#: a test's transaction the same blocks are savepoints, which it does: they are not the read's
_SAVEPOINTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def _count(read) -> tuple[list[str], object]:
    with CaptureQueriesContext(connections["catalog"]) as queries:
        answer = read()
    return [q["sql"] for q in queries if not q["sql"].startswith(_SAVEPOINTS)], answer


def _api(path: str, expect: int | None):
    """Read an API route as an anonymous reader; ``expect``: the items it must list."""
    api = Api(ip="41.82.200.10")

    def read():
        answer = api.get(path)
        assert answer.status_code == 200, (path, answer.data)
        if expect is not None:
            listed = next(answer.data[k] for k in ("items", "books") if k in answer.data)
            assert len(listed) == expect, path
        return answer
    return read


def _opds(path: str, expect: int | None):
    client = Client()

    def read():
        answer = client.get(path, HTTP_ACCEPT_LANGUAGE="fr")
        assert answer.status_code == 200, (path, answer.content[:300])
        if expect is not None:
            if path.startswith("/opds/v2/"):
                entries = len(json.loads(answer.content)["publications"])
            else:
                entries = len(etree.fromstring(answer.content).findall("{http://www.w3.org/2005/Atom}entry"))
            assert entries == expect, (path, entries)
        return answer
    return read


#: route: (how to read it at a page size, how many items a full page lists at that size or None)
ROUTES = {
    "books": lambda lib, n: _api(f"/books?limit={n}", n),
    "books by author": lambda lib, n: _api(f"/books?limit={n}&sort=author", n),
    "books by year, oldest first": lambda lib, n: _api(f"/books?limit={n}&sort=year&order=asc", n),
    "books of a category": lambda lib, n: _api(f"/books?limit={n}&category=fiction", n),
    "books of an author named": lambda lib, n: _api(f"/books?limit={n}&author=mariama%20ba", n),
    "book": lambda lib, n: _api(f"/books/{lib['books'][n - 1]['id']}", None),
    "search": lambda lib, n: _api(f"/books/search?q=roman&limit={n}", n),
    "search with a typo": lambda lib, n: _api(f"/books/search?q=romman%20mariamma&limit={n}", n),
    "authors": lambda lib, n: _api(f"/authors?limit={n}", None),
    "author": lambda lib, n: _api(f"/authors/{lib['author_id']}", None),
    "categories": lambda lib, n: _api("/categories", None),
    "publishers": lambda lib, n: _api(f"/publishers?limit={n}", 1),
    "series": lambda lib, n: _api(f"/series?limit={n}", 1),
    "publisher": lambda lib, n: _api(f"/publishers/{lib['publisher_id']}?limit={n}", n),
    "one series": lambda lib, n: _api(f"/series/{lib['series_id']}?limit={n}", n),
    "collection": lambda lib, n: _api(f"/collections/rentree?limit={n}", n),
    **{f"OPDS {v} {name}": (lambda path: lambda lib, n: _opds(
        f"/opds/{'v2/' if v == '2.0' else ''}{path(lib)}{'&' if '?' in path(lib) else '?'}limit={n}", n))(path)
       for v in ("1.2", "2.0") for name, path in {
           "new": lambda lib: "new",
           "popular": lambda lib: "popular",
           "category": lambda lib: "categories/novels",
           "author": lambda lib: f"authors/{lib['author_id']}",
           "search": lambda lib: "search?q=roman&query=roman",
           "collection": lambda lib: "collections/rentree",
       }.items()},
}


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("route", list(ROUTES))
def test_a_cold_read_takes_at_most_three_queries_whatever_the_page_size(library, route, size):
    read = ROUTES[route](library, size)
    read()  # once: per-process look-ups (pg_trgm's schema) are not the route's
    queries, _ = _count(read)
    assert len(queries) <= MAX_QUERIES, (f"{route} at {size}: {len(queries)} queries", queries)
