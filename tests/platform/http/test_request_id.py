"""Every response carries an X-Request-ID; every request logs one access line."""

from __future__ import annotations

import logging
import re
import types

import pytest
from django.http import JsonResponse
from django.urls import path as url

from coko.platform.context import current_trace_id

MINTED = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize("path", ["/api/v1/meta", "/api/v1/no-such-route", "/health"])
def test_a_sane_request_id_is_echoed(client, path):
    response = client.get(path, HTTP_X_REQUEST_ID="mobile-7f3a.42:retry-1")
    assert response["X-Request-ID"] == "mobile-7f3a.42:retry-1"


def test_an_id_is_minted_when_none_is_sent(client):
    first, second = client.get("/api/v1/meta"), client.get("/api/v1/meta")
    assert MINTED.fullmatch(first["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


@pytest.mark.parametrize("garbage", ["short", "has spaces in it", "x" * 129, "<script>alert(1)</script>"])
def test_a_garbage_id_is_replaced(client, garbage):
    response = client.get("/api/v1/meta", HTTP_X_REQUEST_ID=garbage)
    assert MINTED.fullmatch(response["X-Request-ID"])


def test_one_access_line_per_request(client, caplog):
    with caplog.at_level(logging.INFO, logger="coko.http.access"):
        client.get("/api/v1/no-such-route", HTTP_X_REQUEST_ID="access-log-check")
    [line] = [r.msg for r in caplog.records if r.name == "coko.http.access"]
    assert line["event"] == "request"
    assert line["request_id"] == "access-log-check"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/no-such-route", 404)
    assert isinstance(line["duration_ms"], float)
    assert line["client"] == "127.0.0.1"  # client_ip(): the test client's address, no proxy trusted


def test_the_access_line_names_the_client_behind_the_trusted_proxy(client, caplog, settings):
    settings.COKO_TRUSTED_PROXIES = ["10.244.0.0/16"]
    with caplog.at_level(logging.INFO, logger="coko.http.access"):
        client.get("/api/v1/meta", REMOTE_ADDR="10.244.3.7", HTTP_X_FORWARDED_FOR="6.6.6.6, 41.82.1.9")
        client.get("/api/v1/meta", REMOTE_ADDR="102.16.9.9", HTTP_X_FORWARDED_FOR="41.82.1.9")
    assert [r.msg["client"] for r in caplog.records if r.name == "coko.http.access"] == [
        "41.82.1.9", "102.16.9.9"]


def test_the_request_id_is_the_trace_id_during_the_request(client, settings):
    """Code running in the request (outbox writes, logs) sees the same id."""

    def trace(request):
        return JsonResponse({"trace": current_trace_id()})

    urlconf = types.ModuleType("trace_urls")
    urlconf.urlpatterns = [url("trace", trace)]
    settings.ROOT_URLCONF = urlconf
    response = client.get("/trace", HTTP_X_REQUEST_ID="trace-id-12345")
    assert response.json() == {"trace": "trace-id-12345"}
