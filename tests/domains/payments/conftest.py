"""Payments tests: real PostgreSQL (the ledger's triggers), the catalogue's real events."""

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
def anonymous_api():
    from coko.domains.accounts.testing import anonymous

    return anonymous()
