"""Password reset, sign-up and their confirmations do not tell whether an account exists:
same answer, same time."""

from __future__ import annotations

import statistics
import time

import pytest

from coko.devtools.testing.api import Api

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
TRIES = 30
#: Medians of the two branches may differ by this much. An Argon2 hash (the unknown branch's
#: classic leak: no hashing where the known branch hashes) costs tens of milliseconds, a
#: transaction of a few writes a few; interleaving and medians keep a loaded machine's noise out.
TOLERANCE_MS = 8.0


@pytest.fixture(autouse=True)
def generous_limits(settings):
    """The limits would stop 60 requests from one client; this test measures, it doesn't hammer."""
    settings.ACCOUNTS_RATE_LIMITS = {**settings.ACCOUNTS_RATE_LIMITS, "reset_ip": (1000, 3600),
                                     "reset_identifier": (1000, 3600), "reset_confirm": (1000, 900),
                                     "register_ip": (1000, 3600), "register_address": (1000, 3600),
                                     "register_confirm": (1000, 900)}


def medians_ms(known, unknown) -> tuple[float, float]:
    """Median duration of each branch over TRIES calls, interleaved (ABBA…): a burst of load
    falls on both alike. Two untimed calls of each first (connections, caches, imports)."""
    for call in (known, unknown, known, unknown):
        call()
    timings: dict = {known: [], unknown: []}
    for n in range(TRIES):
        for call in ((known, unknown) if n % 2 == 0 else (unknown, known)):
            start = time.perf_counter()
            call()
            timings[call].append((time.perf_counter() - start) * 1000)
    return statistics.median(timings[known]), statistics.median(timings[unknown])


def timed_posts(path: str, known: dict, unknown: dict, *, ip: str) -> tuple:
    """``(known answer, unknown answer, known ms, unknown ms)``: one client POSTs each body to
    ``path`` TRIES times (``medians_ms``); the last answers and the medians."""
    client = Api(ip=ip)
    answers = {}

    def post_known():
        answers["known"] = client.post(path, known)

    def post_unknown():
        answers["unknown"] = client.post(path, unknown)

    known_ms, unknown_ms = medians_ms(post_known, post_unknown)
    return answers["known"], answers["unknown"], known_ms, unknown_ms


def test_password_reset_takes_the_same_time_for_a_known_and_an_unknown_account():
    """Attack: timing POST /auth/password/reset to learn which emails have an account
    (the unknown one answered at once, the known one after a transaction)."""
    Api().register(email="awa@example.sn")
    known, unknown, known_ms, unknown_ms = timed_posts(
        "/auth/password/reset", {"identifier": "awa@example.sn"}, {"identifier": "ghost@example.sn"},
        ip="41.82.216.9")
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert abs(known_ms - unknown_ms) < TOLERANCE_MS, (known_ms, unknown_ms)


def test_reset_confirmation_takes_the_same_time_for_a_known_and_an_unknown_account():
    """Attack: timing POST /auth/password/reset/confirm with a guessed code (the unknown
    identifier was refused before any query, the known one after a transaction)."""
    Api().register(email="awa@example.sn")
    Api().post("/auth/password/reset", {"identifier": "awa@example.sn"})
    body = {"code": "000000", "new_password": "a pirogue at Joal-Fadiouth"}
    known, unknown, known_ms, unknown_ms = timed_posts(
        "/auth/password/reset/confirm", {"identifier": "awa@example.sn", **body},
        {"identifier": "ghost@example.sn", **body}, ip="41.82.216.10")
    assert known.status_code == unknown.status_code == 422
    assert known.data == unknown.data  # invalid_code, both
    assert abs(known_ms - unknown_ms) < TOLERANCE_MS, (known_ms, unknown_ms)


def test_reset_confirmation_answers_the_same_for_a_weak_password_known_or_not():
    """Attack: a new password that is the account's own email was refused as weak only when
    the account existed (checked against it), and as a wrong code otherwise."""
    Api().register(email="awa@example.sn")
    client = Api(ip="41.82.216.11")
    for password, code in (("awa@example.sn", "weak_password"), ("a pirogue at Joal-Fadiouth", "invalid_code")):
        known = client.post("/auth/password/reset/confirm",
                            {"identifier": "awa@example.sn", "code": "000000", "new_password": password})
        unknown = client.post("/auth/password/reset/confirm",
                              {"identifier": "nobody@example.sn", "code": "000000", "new_password": password})
        assert known.status_code == unknown.status_code == 422
        assert known.data["error"]["code"] == unknown.data["error"]["code"] == code


def test_sign_up_start_takes_the_same_time_for_a_taken_and_a_new_address():
    """Attack: timing POST /auth/register/start to learn which addresses have an account
    (the taken one's owner is warned where the new one is sent a code: the same work)."""
    Api().register(email="awa@example.sn")
    taken, new, taken_ms, new_ms = timed_posts(
        "/auth/register/start", {"email": "awa@example.sn"}, {"email": "ghost@example.sn"}, ip="41.82.216.12")
    assert taken.status_code == new.status_code == 202
    assert taken.content == new.content
    assert abs(taken_ms - new_ms) < TOLERANCE_MS, (taken_ms, new_ms)


def test_sign_up_confirmation_takes_the_same_time_for_a_taken_and_a_new_address():
    """Attack: timing POST /auth/register with a guessed code (a taken address was refused
    before its code was looked at)."""
    Api().register(email="awa@example.sn")
    for address in ("awa@example.sn", "ghost@example.sn"):
        Api().post("/auth/register/start", {"email": address})
    body = {"code": "000000", "password": "a pirogue at Joal-Fadiouth", "display_name": "Awa"}
    taken, new, taken_ms, new_ms = timed_posts(
        "/auth/register", {"email": "awa@example.sn", **body}, {"email": "ghost@example.sn", **body},
        ip="41.82.216.13")
    assert taken.status_code == new.status_code == 422
    assert taken.data == new.data  # invalid_code, both
    assert abs(taken_ms - new_ms) < TOLERANCE_MS, (taken_ms, new_ms)
