"""The front door: ``GET /`` says what Coko is and where to go; ``GET /api/v1/`` the same as
JSON; an unknown page outside the API is Coko's not-found page (never Django's debug page)."""

from __future__ import annotations

import pytest

from coko.devtools import runner

pytestmark = pytest.mark.django_db(databases="__all__")


def test_the_home_page_links_the_docs_the_feeds_and_the_console(client):
    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    body = page.content.decode()
    for link in ('href="/api/v1/docs"', 'href="/opds/"', 'href="/opds/v2/"', 'href="/admin/"', 'href="/health"'):
        assert link in body, link
    assert "A reading platform for African readers" in body
    assert "Content-Security-Policy" in page  # the CSP holds: no inline style or script on it
    assert "<style" not in body and "<script" not in body


def test_the_home_page_speaks_french_to_a_french_browser(client):
    body = client.get("/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Une plateforme de lecture" in body and "La console d’administration" in body


def test_the_api_root_answers_its_name_version_and_links(client):
    root = client.get("/api/v1/")
    assert root.status_code == 200
    body = root.json()
    assert body["name"] == "coko" and body["api_version"] == "1" and body["version"]
    assert body["links"]["docs"] == "/api/v1/docs" and body["links"]["opds"] == "/opds/"
    assert body["links"]["collections"] == "/api/v1/collections"  # the featured books (issue 11)
    for name, link in body["links"].items():
        assert client.get(link).status_code == (302 if name == "admin" else 200), link  # the console: its login


def test_an_unknown_page_is_coko_s_not_found_page_and_an_unknown_api_path_the_envelope(client):
    page = client.get("/no/such/page", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 404 and b"There is nothing at this address." in page.content
    api = client.get("/api/v1/no/such/route")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


def test_make_run_serves_with_debug_off_unless_asked():
    assert runner.run_environment({}, {})["DEBUG"] == "0"
    assert runner.run_environment({"DEBUG": "1"}, {})["DEBUG"] == "1"
    assert runner.run_environment({}, {"REDIS_URL": "unix:///x"})["REDIS_URL"] == "unix:///x"


def test_every_operation_has_a_written_summary():
    from coko.platform.http.api import api

    generated = [(op.methods, path) for _, router in api._routers for path, view in router.path_operations.items()
                 for op in view.operations if op.summary == op.view_func.__name__.replace("_", " ").title()]
    assert generated == []
