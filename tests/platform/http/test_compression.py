"""Answers are compressed in the coding the client prefers: Brotli, then gzip, else none.

HTML (the admin console, the docs) keeps Django's gzip with its anti-BREACH padding; API
answers and feeds go out in Brotli to clients that accept it.
"""

from __future__ import annotations

import gzip
import json

import brotli
import pytest

from coko.platform.http.compression import compress, negotiate

LARGE = "/api/v1/openapi.json"


@pytest.mark.parametrize(("header", "chosen"), [
    ("", None),
    ("identity", None),
    ("gzip", "gzip"),
    ("gzip, deflate", "gzip"),
    ("gzip, deflate, br", "br"),
    ("br", "br"),
    ("BR;Q=0.5, gzip;q=0.4", "br"),
    ("br;q=0.4, gzip;q=0.5", "gzip"),
    ("br;q=0, gzip", "gzip"),
    ("br;q=0, gzip;q=0", None),
    ("*", "br"),
    ("*;q=0.1, br;q=0", "gzip"),
    ("gzip;q=nonsense, br;q=2", "br"),
    (" , ;q=1,,", None),
])
def test_negotiation_follows_the_q_values(header, chosen):
    assert negotiate(header) == chosen


def test_without_brotli_the_choice_is_gzip_or_nothing():
    assert negotiate("br, gzip", brotli_ok=False) == "gzip"
    assert negotiate("br", brotli_ok=False) is None


def test_compression_is_deterministic_so_it_can_be_cached():
    body = b'{"items": []}' * 50
    for encoding in ("br", "gzip"):
        assert compress(body, encoding) == compress(body, encoding)
    assert brotli.decompress(compress(body, "br")) == body
    assert gzip.decompress(compress(body, "gzip")) == body
    with pytest.raises(ValueError):
        compress(body, "deflate")


def test_api_answers_go_out_in_brotli_when_the_client_prefers_it(client):
    plain = client.get(LARGE)
    packed = client.get(LARGE, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert packed["Content-Encoding"] == "br"
    assert "Accept-Encoding" in packed["Vary"]
    assert int(packed["Content-Length"]) == len(packed.content) < len(plain.content)
    assert json.loads(brotli.decompress(packed.content)) == plain.json()
    assert packed["ETag"] == "W/" + plain["ETag"]
    assert client.get(LARGE, HTTP_ACCEPT_ENCODING="br", HTTP_IF_NONE_MATCH=packed["ETag"]).status_code == 304


def test_a_client_refusing_brotli_gets_gzip(client):
    packed = client.get(LARGE, HTTP_ACCEPT_ENCODING="br;q=0, gzip")
    assert packed["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.content)


def test_short_answers_and_errors_are_left_alone(client):
    meta = client.get("/api/v1/meta", HTTP_ACCEPT_ENCODING="br")
    assert len(meta.content) < 200 and not meta.has_header("Content-Encoding")


def test_html_keeps_gzip_with_its_breach_padding(client):
    """The admin's login page carries a CSRF token: it is never Brotli, and its gzip differs
    from one answer to the next (Django's random padding), so its length leaks nothing."""
    first = client.get("/admin/login/", HTTP_ACCEPT_ENCODING="br, gzip")
    second = client.get("/admin/login/", HTTP_ACCEPT_ENCODING="br, gzip")
    assert first["Content-Type"].startswith("text/html")
    assert first["Content-Encoding"] == second["Content-Encoding"] == "gzip"
    assert b"csrfmiddlewaretoken" in gzip.decompress(first.content)
    assert client.get("/admin/login/", HTTP_ACCEPT_ENCODING="br").get("Content-Encoding") is None
