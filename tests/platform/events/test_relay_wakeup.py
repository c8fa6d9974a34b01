"""The relay sleeps on LISTEN between cycles; a NOTIFY sent before its LISTEN existed
(at start-up, or while an outage had closed it) must not leave an event waiting."""

from __future__ import annotations

import time

import pytest

from coko.platform.events.relay import Relay

from .conftest import PRODUCER, publish_committed

pytestmark = pytest.mark.django_db(transaction=True, databases=[PRODUCER])


def test_the_relay_looks_again_after_opening_its_listener_and_a_commit_wakes_it():
    relay = Relay(domains=[PRODUCER], linger_s=0)
    try:
        started = time.monotonic()
        relay._wait(30)  # the listener is opened here: what committed before it went unheard
        assert time.monotonic() - started < 5, "the relay slept on a listener it had just opened"

        publish_committed(aggregate="wake-up")  # NOTIFY at commit, the listener is in place
        started = time.monotonic()
        relay._wait(30)
        assert time.monotonic() - started < 5, "the commit's NOTIFY did not wake the relay"
    finally:
        relay._close_all()
