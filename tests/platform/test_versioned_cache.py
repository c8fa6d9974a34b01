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


def test_many_entries_are_read_at_once_and_only_the_missing_ones_computed():
    asked: list[list[int]] = []

    def compute(missing):
        asked.append(missing)
        return [f"value {n}" for n in missing]

    def get_many():
        return versioned.cached_many(entries=[(f"t:m:{n}", ["t:v:all", f"t:v:{n}"]) for n in range(4)], ttl_s=60,
                                     compute=compute, encode=json.dumps, decode=json.loads)

    assert _get("t:m:2", ["t:v:all", "t:v:2"], Source("value 2")) == "value 2"  # one already cached
    assert get_many() == ["value 0", "value 1", "value 2", "value 3"]
    assert asked == [[0, 1, 3]]
    assert get_many() == ["value 0", "value 1", "value 2", "value 3"] and asked == [[0, 1, 3]]
    versioned.bump("t:v:1")
    assert get_many()[1] == "value 1" and asked[-1] == [1]
    versioned.bump("t:v:all")
    get_many()
    assert asked[-1] == [0, 1, 2, 3]
    assert versioned.cached_many(entries=[], ttl_s=60, compute=compute, encode=json.dumps, decode=json.loads) == []
