"""Community tests: real PostgreSQL and Redis; people from accounts, books from the catalogue."""

from __future__ import annotations

import pytest

from coko.domains.accounts.testing import anonymous, staff, user_with_roles
from coko.domains.catalog.testing import published_book


@pytest.fixture
def reader():
    return user_with_roles(display_name="Awa")


@pytest.fixture
def other_reader():
    return user_with_roles(display_name="Moussa")


@pytest.fixture
def author():
    return user_with_roles("author")


@pytest.fixture
def visitor():
    return anonymous()


@pytest.fixture
def moderator():
    return staff()


@pytest.fixture
def book(author):
    return published_book(author, title="Une si longue lettre")
