"""Fixtures of the devtools tests."""

from __future__ import annotations

import pytest

from tests.devtools.payment_receiver import Receiver


@pytest.fixture
def receiver():
    """A loopback stand-in for Coko's payment webhook routes (``payment_receiver``)."""
    with Receiver() as r:
        yield r
