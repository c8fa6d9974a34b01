"""Helpers and fixtures of the search tests (imported by test_search*.py).

The shelf: six published books in French and English, filed in a small category tree, with
prices in two currencies and distinct popularities, each description naming the same
collection ("Sahel") so that one word finds them all.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from coko.domains.catalog import cache, services

from .conftest import published

SAHEL = "Collection Sahel."


def ids(response) -> list[str]:
    assert response.status_code == 200, response.data
    return [b["id"] for b in response.data["items"]]


def searched(client, **params):
    """``GET /books/search`` answered afresh: this test process's cached search pages are
    dropped first (the ``LISTINGS`` version is what normally retires them; these tests change
    popularity, which does not bump it: pages pick it up when they expire)."""
    from django.core.cache import cache as django_cache

    redis = django_cache.redis_client()
    for key in redis.scan_iter(f"{settings.REDIS_NAMESPACE}:*catalog:search:*"):
        redis.delete(key)
    return client.get("/books/search", data=params)


def found(client, q: str, **params) -> list[str]:
    """The ids a search answers, in order."""
    return ids(searched(client, q=q, **params))


def popularity_set(book_id: str, popularity: int) -> None:
    services.book_stats_set(book_id=book_id, popularity=popularity)
    cache.catalog_changed()


@pytest.fixture
def categories(staff):
    for body in ({"name": "Fiction", "slug": "fiction", "translations": {"fr": "Romans et récits"}},
                 {"name": "Novels", "slug": "novels", "parent": "fiction"},
                 {"name": "Poetry", "slug": "poetry", "translations": {"fr": "Poésie"}}):
        response = staff.post("/categories", body)
        assert response.status_code == 201, response.data


@pytest.fixture
def shelf(author, categories) -> dict[str, dict]:
    books = {
        "lettre": published(author, categories=["novels"],
                            description=f"Ramatoulaye écrit à son amie Aïssatou. {SAHEL}"),
        "chants": published(author, title="Chants d'ombre", authors=["Léopold Sédar Senghor"],
                            description=f"Poèmes de l'exil. {SAHEL}", categories=["poetry"],
                            access_model="sale", price_amount=1000, price_currency="EUR"),  # 6,560 XOF
        "things": published(author, title="Things Fall Apart", language="en", authors=["Chinua Achebe"],
                            description=f"Okonkwo is a great wrestler. {SAHEL}", categories=["fiction"],
                            access_model="subscription"),
        "weep": published(author, title="Weep Not, Child", language="en", authors=["Ngũgĩ wa Thiong'o"],
                          description=f"Njoroge wants to go to school. {SAHEL}", categories=["novels", "fiction"]),
        "aventure": published(author, title="L'Aventure ambiguë", authors=["Cheikh Hamidou Kane"],
                              description=f"Samba Diallo entre deux mondes. {SAHEL}",
                              access_model="sale", price_amount=3000, price_currency="XOF"),
        "run": published(author, title="The Long Run", language="en", authors=["Kwame Mensah"],
                         description=f"A marathon in Accra. {SAHEL}", categories=["fiction"]),
    }
    for popularity, key in enumerate(["run", "aventure", "weep", "things", "chants", "lettre"]):
        popularity_set(books[key]["id"], (popularity + 1) * 10)
    return books
