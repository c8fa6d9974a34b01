"""Catalog tests talk to the API like clients do: readers, authors and staff with real tokens."""

from __future__ import annotations

import itertools

import pytest
from django.conf import settings

from coko.devtools.testing.api import Api
from coko.domains.accounts.testing import user_with_roles
from coko.domains.catalog.testing import book_body, file_attach, published_book  # noqa: F401 (book_body: for the tests)

_numbers = itertools.count(1)


def person(*roles: str, name: str = "reader") -> Api:
    """A registered user holding ``roles``, signed in so the token carries them."""
    n = next(_numbers)
    return user_with_roles(*roles, email=f"{name}{n}@example.sn", display_name=name.title(),
                           ip=f"41.82.{n % 250}.{(n * 7) % 250}")


@pytest.fixture
def reader() -> Api:
    return person(name="reader")


@pytest.fixture
def author() -> Api:
    return person("author", name="author")


@pytest.fixture
def other_author() -> Api:
    return person("author", name="other")


@pytest.fixture
def staff() -> Api:
    return person("admin", name="staff")


@pytest.fixture
def anonymous() -> Api:
    return Api(ip="41.82.200.1")


@pytest.fixture
def cache_redis():
    """The cache's Redis connection (``COKO_CACHE_REDIS_URL``; this worker's keys are its own)."""
    from django.core.cache import cache

    return cache.redis_client()


@pytest.fixture(autouse=True)
def _fresh_state(redis_client, cache_redis):
    """Rate limits and cached catalog reads are per test."""
    for client, pattern in ((redis_client, f"{settings.REDIS_NAMESPACE}:rl:*"),
                            (cache_redis, f"{settings.REDIS_NAMESPACE}:*catalog:*")):
        for key in client.scan_iter(pattern):
            client.delete(key)
    yield


#: a book created and published by this client (the API's book dict)
published = published_book


# --- OPDS feeds (tests/domains/catalog/test_opds*.py) --------------------------------------------
LONG_DESCRIPTION = ("Ramatoulaye, veuve depuis peu, écrit à son amie Aïssatou pendant sa réclusion. "
                    "Elle revient sur trente ans de mariage, sur la polygamie, sur l'école et sur "
                    "l'amitié qui a tenu bon. ") * 4


def book_file(author: Api, book_id: str, kind: str = "epub") -> None:
    """Attach a stored file to a book, as the files domain does after an upload."""
    file_attach(author, book_id, kind)


def book_cover(author: Api, book_id: str) -> dict:
    """Give a book a cover, with the files domain's URLs (paths on this host)."""
    import uuid

    from coko.domains.catalog import api, contracts

    file_id = str(uuid.uuid4())
    urls = {"original": f"/api/v1/files/covers/{file_id}/original",
            **{size: f"/api/v1/files/covers/{file_id}/{size}.webp" for size in ("small", "medium", "large")}}
    api.book_cover_set(actor_id=author.user_id, book_id=book_id, cover=contracts.Cover(file_id=file_id, urls=urls))
    return urls


@pytest.fixture
def opds_library(author, staff) -> dict:
    """A small catalogue for the OPDS feeds: free, subscription and sale books (XOF, EUR, USD),
    covers or none, several authors and roles, a category tree (one branch empty), and one
    published book without any file (not an OPDS catalog entry)."""
    from coko.domains.catalog import cache, services

    staff.post("/categories", {"name": "Fiction", "slug": "fiction", "translations": {"fr": "Fiction"}})
    staff.post("/categories", {"name": "Novels", "slug": "novels", "parent": "fiction", "translations": {"fr": "Romans"}})
    staff.post("/categories", {"name": "Poetry", "slug": "poetry", "translations": {"fr": "Poésie"}})
    staff.post("/categories", {"name": "Essays", "slug": "essays"})
    books = {
        "lettre": published(author, categories=["novels"], description=LONG_DESCRIPTION,
                            publication_date="1979-01-01", isbn="9782842612818", publisher="NEA"),
        "aventure": published(author, title="L'Aventure ambiguë", authors=["Cheikh Hamidou Kane"],
                              access_model="sale", price_amount=3000, price_currency="XOF", publication_year=1961),
        "things": published(author, title="Things Fall Apart", language="en", authors=["Chinua Achebe"],
                            access_model="subscription", categories=["fiction"],
                            description="Okonkwo, a great wrestler of Umuofia."),
        "chants": published(author, title="Chants d'ombre", categories=["poetry"], access_model="sale",
                            price_amount=1000, price_currency="EUR",
                            authors=["Léopold Sédar Senghor", {"name": "Ellen Conroy Kennedy", "role": "translator"}]),
        "anthologie": published(author, title="Anthologie de la poésie", categories=["poetry"],
                                authors=["Birago Diop", "Léopold Sédar Senghor"],
                                access_model="sale", price_amount=500, price_currency="USD"),
        "sans_fichier": published(author, title="Un livre sans fichier", authors=["Aminata Sow Fall"]),
    }
    for key in ("lettre", "aventure", "things", "chants", "anthologie"):
        book_file(author, books[key]["id"], "epub")
    book_file(author, books["lettre"]["id"], "pdf")
    covers = {key: book_cover(author, books[key]["id"]) for key in ("lettre", "things", "chants")}
    for popularity, key in enumerate(["lettre", "aventure", "things", "chants", "anthologie", "sans_fichier"]):
        services.book_stats_set(book_id=books[key]["id"], popularity=(popularity + 1) * 100)
    cache.catalog_changed()
    return {"books": books, "covers": covers,
            "downloadable": [books[k]["id"] for k in ("lettre", "aventure", "things", "chants", "anthologie")]}
