"""The OpenAPI fuzz (``openapi_fuzz.py``, issue 10): every case sent with a reader's token."""

from __future__ import annotations

import pytest

from tests.platform.http.openapi_fuzz import (  # noqa: F401
    FUZZ_SETTINGS,
    caller,
    generous_limits,
    schema,
    send_and_check,
)


@pytest.mark.django_db(databases="__all__")
@pytest.mark.parametrize("caller", ["reader"], indirect=True)
@schema.parametrize()
@FUZZ_SETTINGS
def test_every_operation(case, caller):  # noqa: F811
    send_and_check(case, caller)
