"""Catalog tests talk to the API like clients do: readers, authors and staff with real tokens."""

from __future__ import annotations

import itertools

import pytest
from django.conf import settings

from coko.domains.accounts import services as accounts_services
from tests.domains.accounts.conftest import Api

_numbers = itertools.count(1)


def person(*roles: str, name: str = "reader") -> Api:
    """A registered user holding ``roles``, logged in again so the token carries them."""
    client = Api(ip=f"41.82.{next(_numbers) % 250}.{next(_numbers) % 250}")
    email = f"{name}{next(_numbers)}@example.sn"
    response = client.register(email=email, display_name=name.title())
    assert response.status_code == 201, response.data
    user_id = response.data["user"]["id"]
    for role in roles:
        accounts_services.role_grant(user_id=user_id, role=role, by_user_id=None,
                                     client=accounts_services.Client(ip="127.0.0.1"))
    if roles:
        login = client.post("/auth/login", {"identifier": email, "password": "a river in Saint-Louis"})
        assert login.status_code == 200, login.data
        client.token = login.data["access_token"] if "access_token" in login.data else login.data["tokens"]["access_token"]
    client.user_id = user_id
    return client


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


@pytest.fixture(autouse=True)
def _fresh_state(redis_client):
    """Rate limits and cached catalog reads are per test."""
    for pattern in (f"{settings.REDIS_NAMESPACE}:rl:*", f"{settings.REDIS_NAMESPACE}:*catalog:*"):
        for key in redis_client.scan_iter(pattern):
            redis_client.delete(key)
    yield


def book_body(**fields) -> dict:
    return {"title": "Une si longue lettre", "language": "fr", "authors": ["Mariama Bâ"],
            "description": "Ramatoulaye écrit à son amie Aïssatou.", **fields}


def published(client: Api, **fields) -> dict:
    created = client.post("/books", book_body(**fields))
    assert created.status_code == 201, created.data
    done = client.post(f"/books/{created.data['id']}/publish")
    assert done.status_code == 200, done.data
    return done.data


# --- OPDS feeds (tests/domains/catalog/test_opds*.py) --------------------------------------------
LONG_DESCRIPTION = ("Ramatoulaye, veuve depuis peu, écrit à son amie Aïssatou pendant sa réclusion. "
                    "Elle revient sur trente ans de mariage, sur la polygamie, sur l'école et sur "
                    "l'amitié qui a tenu bon. ") * 4


def book_file(author: Api, book_id: str, kind: str = "epub") -> None:
    """Attach a stored file to a book, as the files domain does after an upload."""
    import hashlib
    import uuid

    from coko.domains.catalog import api, contracts

    media_types = {"epub": "application/epub+zip", "pdf": "application/pdf", "audio": "audio/mpeg"}
    file_id = str(uuid.uuid4())
    api.book_format_attach(actor_id=author.user_id, book_id=book_id, file=contracts.FormatFile(
        kind=kind, file_id=file_id, media_type=media_types[kind], size=250_000,
        sha256=hashlib.sha256(file_id.encode()).hexdigest()))


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
