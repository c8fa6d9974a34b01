"""Reading tests: real PostgreSQL and Redis, the catalogue's and payments' real facades."""

from __future__ import annotations

import pytest

from coko.domains.accounts.testing import user_with_roles


@pytest.fixture
def reader():
    return user_with_roles()


@pytest.fixture
def author():
    return user_with_roles("author")


@pytest.fixture
def book(author):
    """A free published book payments has heard of."""
    from coko.domains.catalog.testing import published_book
    from coko.domains.payments.testing import sellable_books_sync

    made = published_book(author)
    sellable_books_sync()
    return made
