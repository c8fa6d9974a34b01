"""Reads under /api/ carry an ETag, answer 304 to If-None-Match, and gzip on request."""

from __future__ import annotations

import gzip
import json

LARGE = "/api/v1/openapi.json"  # big enough for GZipMiddleware (>= 200 bytes)


def test_reads_carry_a_strong_etag(client):
    response = client.get("/api/v1/meta")
    assert response.status_code == 200
    assert response["ETag"].startswith('"')


def test_if_none_match_answers_304_without_a_body(client):
    etag = client.get("/api/v1/meta")["ETag"]
    response = client.get("/api/v1/meta", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == etag


def test_a_stale_etag_gets_the_full_body(client):
    response = client.get("/api/v1/meta", HTTP_IF_NONE_MATCH='"stale"')
    assert response.status_code == 200
    assert response.json()["name"] == "coko"


def test_gzip_when_the_client_accepts_it(client):
    plain = client.get(LARGE)
    zipped = client.get(LARGE, HTTP_ACCEPT_ENCODING="gzip")
    assert "Content-Encoding" not in plain
    assert zipped["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped["Vary"]
    assert json.loads(gzip.decompress(zipped.content)) == plain.json()


def test_the_weak_etag_of_a_gzipped_body_still_answers_304(client):
    etag = client.get(LARGE, HTTP_ACCEPT_ENCODING="gzip")["ETag"]
    assert etag.startswith('W/"')
    for sent_back, encoding in [(etag, "gzip"), (etag, "identity"), (etag.removeprefix("W/"), "gzip")]:
        response = client.get(LARGE, HTTP_IF_NONE_MATCH=sent_back, HTTP_ACCEPT_ENCODING=encoding)
        assert response.status_code == 304, (sent_back, encoding)


def test_errors_never_answer_304(client):
    response = client.get("/api/v1/no-such-route", HTTP_IF_NONE_MATCH="*")
    assert response.status_code == 404
