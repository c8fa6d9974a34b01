"""The ``clock`` fixture: freeze ``coko.platform.clock`` and move it forward instead of sleeping.

    def test_a_lockout_ends_after_its_window(api, clock):
        ...                    # lock the account out (window 2 s)
        clock.advance(2.2)     # no time.sleep(2.2)
        ...                    # the login works again

Registered suite-wide by ``coko.devtools.testing.plugin``. Only what reads
``coko.platform.clock`` is affected (not Django's ``timezone.now()``, not Redis
key TTLs, not child processes).
"""

from __future__ import annotations

import pytest

from coko.platform import clock as platform_clock


@pytest.fixture
def clock():
    """A ``FrozenClock`` at the real current time, the process's clock for the test."""
    frozen = platform_clock.FrozenClock()
    previous = platform_clock.freeze(frozen)
    try:
        yield frozen
    finally:
        platform_clock.freeze(previous)
