"""The time a decision is made at: token expiry, rate-limit windows, lockouts.

Code that decides something by the clock reads it here (``clock.time()``,
``clock.now()``, ``clock.monotonic()``) instead of ``time.time()``, so that a test
can freeze and advance it (the ``clock`` fixture of ``coko.devtools.testing.clock``)
rather than sleep until a window passes. In production nothing is ever set: each
call is the standard library's plus one test of a module global.

Redis key expiry is not this clock: a key's TTL only clears memory, the decision
reads the timestamps stored in it against ``clock.time()``.
"""

from __future__ import annotations

import time as _time
from datetime import datetime, timezone


class FrozenClock:
    """A clock that moves only when told: ``advance(seconds)``."""

    def __init__(self, start: float | None = None) -> None:
        self._time = _time.time() if start is None else float(start)
        self._monotonic = _time.monotonic()

    def time(self) -> float:
        return self._time

    def monotonic(self) -> float:
        return self._monotonic

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._time, tz=timezone.utc)

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not go back")
        self._time += seconds
        self._monotonic += seconds


_frozen: FrozenClock | None = None


def time() -> float:
    """Seconds since the epoch (``time.time()``)."""
    return _time.time() if _frozen is None else _frozen.time()


def monotonic() -> float:
    """For durations and cache ages (``time.monotonic()``)."""
    return _time.monotonic() if _frozen is None else _frozen.monotonic()


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(timezone.utc) if _frozen is None else _frozen.now()


def freeze(clock: FrozenClock | None) -> FrozenClock | None:
    """Make ``clock`` this process's time (``None``: the real time again); returns the previous one.

    Tests only (the ``clock`` fixture). The whole process reads it: threads included,
    not child processes.
    """
    global _frozen
    previous, _frozen = _frozen, clock
    return previous


__all__ = ["FrozenClock", "freeze", "monotonic", "now", "time"]
