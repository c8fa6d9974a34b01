"""Accounts tests talk to the API like a client does, against real PostgreSQL and Redis.

The client is the suite's ``coko.devtools.testing.api.Api``; events are read from the
outbox as handlers receive them (``coko.devtools.testing.events``).
"""

from __future__ import annotations

import pytest

from coko.devtools.testing.api import Api
from coko.devtools.testing.events import outbox_events
from coko.domains.accounts import contracts
from coko.platform.crypto import field_decrypt

__all__ = ["Api", "code_sent", "payloads"]


@pytest.fixture
def api():
    return Api()


def payloads(type_: str) -> list:
    """The payloads of the ``type_`` events accounts published, oldest first, read as its
    declared class (as a consumer reads them)."""
    cls = contracts.EVENTS[type_]
    return [event.payload_as(cls) for event in outbox_events("accounts", type_)]


def code_sent(purpose: str) -> str:
    """The one-time code, as the notifications domain reads it from the event."""
    events = [event.payload_as(contracts.CodeRequested) for event in outbox_events(
        "accounts", contracts.VERIFICATION_REQUESTED, contracts.PASSWORD_RESET_REQUESTED)]
    return field_decrypt([e for e in events if e.purpose == purpose][-1].code_encrypted)
