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
    for pattern in (f"{settings.REDIS_NAMESPACE}:rl:*", "*catalog:*"):
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
