"""Decisions made by the clock (token expiry, rate-limit windows, lockouts) are crossed by
moving ``coko.platform.clock`` forward (the ``clock`` fixture), never by sleeping."""

from __future__ import annotations

import time

import pytest

from coko.platform import clock as platform_clock
from coko.platform.auth.errors import TokenExpired
from coko.platform.auth.tokens import access_token_issue, access_token_verify
from coko.platform.errors import RateLimited
from coko.platform.ratelimit import failure_record, failures_clear, lockout_check, rate_limit_check


def test_the_real_clock_when_nothing_is_frozen():
    assert abs(platform_clock.time() - time.time()) < 1
    assert abs(platform_clock.now().timestamp() - time.time()) < 1
    assert platform_clock.now().tzinfo is not None


def test_the_clock_fixture_freezes_and_advances(clock):
    start, mono = platform_clock.time(), platform_clock.monotonic()
    assert platform_clock.time() == start  # frozen: real time passing does not move it
    clock.advance(90.5)
    assert platform_clock.time() == start + 90.5
    assert platform_clock.monotonic() == mono + 90.5
    assert platform_clock.now().timestamp() == pytest.approx(start + 90.5)
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_an_access_token_expires_when_the_clock_passes_its_expiry(clock, settings):
    token = access_token_issue(subject="user-1", roles=["user"], permissions=["read_books"],
                               session_id="session-1", ttl=600)
    access_token_verify(token)
    clock.advance(600 + settings.COKO_JWT["LEEWAY_S"] - 1)
    access_token_verify(token)  # within the leeway
    clock.advance(2)
    with pytest.raises(TokenExpired):
        access_token_verify(token)


@pytest.mark.django_db
def test_a_rate_limit_window_slides_with_the_clock(clock):
    for _ in range(3):
        rate_limit_check(key="clock-test:ip", limit=3, window_s=60)
    with pytest.raises(RateLimited) as refused:
        rate_limit_check(key="clock-test:ip", limit=3, window_s=60)
    assert refused.value.retry_after == 60
    clock.advance(59)
    with pytest.raises(RateLimited) as refused:
        rate_limit_check(key="clock-test:ip", limit=3, window_s=60)
    assert refused.value.retry_after == 1
    clock.advance(1.5)
    rate_limit_check(key="clock-test:ip", limit=3, window_s=60)


@pytest.mark.django_db
def test_a_lockout_lasts_its_window_after_the_last_failure(clock):
    key = "clock-test:login"
    failures_clear(key=key)
    assert [failure_record(key=key, window_s=120) for _ in range(2)] == [1, 2]
    lockout_check(key=key, threshold=3)  # not yet
    clock.advance(100)
    assert failure_record(key=key, window_s=120) == 3  # within the window: counted on
    with pytest.raises(RateLimited) as locked:
        lockout_check(key=key, threshold=3)
    assert locked.value.retry_after == 120  # the window restarts at the last failure
    clock.advance(119)
    with pytest.raises(RateLimited):
        lockout_check(key=key, threshold=3)
    clock.advance(1)
    lockout_check(key=key, threshold=3)  # over
    assert failure_record(key=key, window_s=120) == 1  # a failure after the window starts again
    failures_clear(key=key)
