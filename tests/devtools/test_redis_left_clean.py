"""A test run leaves no keys in the Redis ``make run`` uses (issue 11).

Every test process works under its own namespace (``cokotest-<pid>[-gwN]``); at the end
of its session it deletes every key of that namespace, and only those.
"""

from __future__ import annotations

from django.conf import settings

from coko.devtools.testing.plugin import namespace_wipe


def test_the_end_of_a_session_wipes_its_namespace_and_nothing_else(redis_client):
    mine, theirs = "cokotest-wipe-probe", "coko"
    redis_client.set(f"{theirs}:wipe-probe:kept", "1")
    for n in range(1200):  # more than one SCAN batch
        redis_client.set(f"{mine}:key:{n}", n)
    redis_client.rpush(f"{mine}:dramatiq:default", "message")
    try:
        assert namespace_wipe(url=settings.REDIS_URL, namespace=mine) == 1201
        assert list(redis_client.scan_iter(match=f"{mine}:*")) == []
        assert redis_client.get(f"{theirs}:wipe-probe:kept") == b"1"
    finally:
        redis_client.delete(f"{theirs}:wipe-probe:kept")
