"""Versioned cache entries: a change makes cold only what was built from it; an entry stored
while a change commits is never served after it; a lost version cannot revive an old entry."""

from __future__ import annotations

import json

import pytest

from coko.platform import versioned

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


class Source:
    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


def _get(key, versions, source, **kw):
    return versioned.cached(key=key, versions=versions, ttl_s=60, compute=source, encode=json.dumps,
                            decode=json.loads, **kw)


def test_a_bump_makes_cold_the_entries_built_from_it_and_no_other():
    a, b = Source("a1"), Source("b1")
    assert _get("t:a", ["t:v:a"], a) == "a1" and _get("t:b", ["t:v:b"], b) == "b1"
    assert _get("t:a", ["t:v:a"], a) == "a1" and (a.calls, b.calls) == (1, 1)
    a.value = "a2"
    versioned.bump("t:v:a")
    assert _get("t:a", ["t:v:a"], a) == "a2" and _get("t:b", ["t:v:b"], b) == "b1"
    assert (a.calls, b.calls) == (2, 1)


def test_an_entry_computed_while_a_change_commits_is_left_behind():
    source = Source("old")

    def slow_compute():
        versioned.bump("t:v:race")  # the change commits (and bumps) while we compute
        return source()

    assert _get("t:race", ["t:v:race"], slow_compute) == "old"
    source.value = "new"
    assert _get("t:race", ["t:v:race"], source) == "new"


def test_a_lost_version_never_revives_an_older_entry(settings):
    from django.core.cache import cache

    source = Source("v1")
    _get("t:lost", ["t:v:lost"], source)
    cache.redis_client().delete(f"{settings.REDIS_NAMESPACE}:v:t:v:lost")  # evicted by the LRU
    source.value = "v2"
    assert _get("t:lost", ["t:v:lost"], source) == "v2"


def test_a_value_true_until_a_time_is_computed_again_after_it(clock):
    source = Source({"until": clock.time() + 10})
    left = lambda value: value["until"] - clock.time()  # noqa: E731
    _get("t:until", ["t:v:until"], source, ttl_for=left)
    _get("t:until", ["t:v:until"], source, ttl_for=left)
    assert source.calls == 1
    clock.advance(11)
    _get("t:until", ["t:v:until"], source, ttl_for=left)
    assert source.calls == 2


def test_many_entries_are_read_in_one_round_trip_and_only_the_missing_computed():
    from django.core.cache import cache

    asked = []

    def compute(positions):
        asked.append(list(positions))
        return {n: f"body {n} #{len(asked)}".encode() for n in positions if n != 2}  # 2: nothing to store

    entries = [(f"t:many:{n}", [f"t:v:many:{n}", "t:v:many:all"]) for n in range(4)]
    first = versioned.cached_many(entries=entries, ttl_s=60, compute_missing=compute)
    assert first == [b"body 0 #1", b"body 1 #1", None, b"body 3 #1"] and asked == [[0, 1, 2, 3]]

    client = cache.redis_client()
    calls = []
    original = client.evalsha
    client.evalsha = lambda *a, **kw: calls.append(a) or original(*a, **kw)
    try:
        again = versioned.cached_many(entries=entries, ttl_s=60, compute_missing=compute)
    finally:
        del client.evalsha
    assert again == [b"body 0 #1", b"body 1 #1", None, b"body 3 #1"]
    assert asked[1] == [2] and len(calls) == 1  # one script call read every entry; only the missing one computed

    versioned.bump("t:v:many:1")  # one entry's own version: only it goes cold
    versioned.cached_many(entries=entries, ttl_s=60, compute_missing=compute)
    assert asked[2] == [1, 2]
    versioned.bump("t:v:many:all")  # a version they all share: all of them
    versioned.cached_many(entries=entries, ttl_s=60, compute_missing=compute)
    assert asked[3] == [0, 1, 2, 3]


def test_a_multi_get_creates_no_key_for_what_it_does_not_store_nor_stores_across_a_bump(settings):
    from django.core.cache import cache

    client = cache.redis_client()
    pattern = f"{settings.REDIS_NAMESPACE}:v:t:ghost*"
    assert versioned.cached_many(entries=[("t:ghost:e", ["t:ghost:v"])], ttl_s=60,
                                 compute_missing=lambda positions: {}) == [None]
    assert list(client.scan_iter(pattern)) == []  # a 404 of a made-up id leaves nothing behind

    def racing(positions):
        versioned.bump("t:ghost:v")  # the change commits (and bumps) while the entry is computed
        return {n: b"old" for n in positions}

    assert versioned.cached_many(entries=[("t:ghost:e", ["t:ghost:v"])], ttl_s=60, compute_missing=racing) == [b"old"]
    fresh = versioned.cached_many(entries=[("t:ghost:e", ["t:ghost:v"])], ttl_s=60,
                                  compute_missing=lambda positions: {n: b"new" for n in positions})
    assert fresh == [b"new"]  # the entry computed across the bump was not stored
