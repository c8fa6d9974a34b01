"""``client_ip``: the one reading of a client's address (coko.platform.http.client)."""

from __future__ import annotations

import os

import pytest
from django.test import RequestFactory

from coko.platform.env import Env
from coko.platform.http.client import client_ip, parse_cidrs

TRUSTED = ["10.244.0.0/16", "fd00::/8"]


def _ip(peer: str, forwarded: str | None = None) -> str | None:
    extra = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **extra))


@pytest.mark.parametrize(("peer", "forwarded", "expected"), [
    # untrusted peers: the header is the client's own words, ignored
    ("41.82.1.9", "1.2.3.4", "41.82.1.9"),
    ("41.82.1.9", None, "41.82.1.9"),
    # a trusted proxy: the right-most entry that is not itself a trusted proxy
    ("10.244.3.7", "41.82.1.9", "41.82.1.9"),
    ("10.244.3.7", "6.6.6.6, 41.82.1.9", "41.82.1.9"),
    ("10.244.3.7", "6.6.6.6, 41.82.1.9, 10.244.8.8", "41.82.1.9"),
    ("10.244.3.7", " 41.82.1.9:5123 ", "41.82.1.9"),
    ("10.244.3.7", "[2001:db8::7]:443", "2001:db8::7"),
    ("fd00::1", "::ffff:41.82.1.9", "41.82.1.9"),
    ("::ffff:10.244.3.7", "41.82.1.9", "41.82.1.9"),
    # no header, or nothing but trusted hops: the last trusted address seen
    ("10.244.3.7", None, "10.244.3.7"),
    ("10.244.3.7", "10.244.5.5", "10.244.5.5"),
    # garbage where the proxy's entry should be: stop at the last trusted hop (fail closed)
    ("10.244.3.7", "41.82.1.9, not-an-ip", "10.244.3.7"),
    ("10.244.3.7", "unknown", "10.244.3.7"),
])
def test_client_address(settings, peer, forwarded, expected):
    settings.COKO_TRUSTED_PROXIES = TRUSTED
    assert _ip(peer, forwarded) == expected


def test_nobody_is_trusted_by_default(settings):
    from config import settings as project_settings

    if "COKO_TRUSTED_PROXIES" not in os.environ:
        assert project_settings.COKO_TRUSTED_PROXIES == []
    settings.COKO_TRUSTED_PROXIES = []
    assert _ip("10.244.3.7", "41.82.1.9") == "10.244.3.7"


def test_a_very_long_header_is_read_from_the_right_only(settings):
    settings.COKO_TRUSTED_PROXIES = TRUSTED
    assert _ip("10.244.3.7", ", ".join(["7.7.7.7"] * 10_000 + ["41.82.1.9"])) == "41.82.1.9"


def test_a_bad_cidr_is_a_configuration_error():
    env = Env({"COKO_TRUSTED_PROXIES": "10.244.0.0/16, ingress"})
    assert env.parsed("COKO_TRUSTED_PROXIES", parse_cidrs, []) == []
    assert env.errors and "ingress" in env.errors[0]
    assert parse_cidrs(" 10.244.0.0/16 , 2001:db8::/32") == ["10.244.0.0/16", "2001:db8::/32"]
