"""The one API at /api/v1: OpenAPI, docs, the meta route, every domain's router."""

from __future__ import annotations

import importlib

from django.urls import reverse

from coko.platform.http.api import api


def test_openapi_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "Coko API"
    assert document["info"]["version"] == "1"
    assert "/api/v1/meta" in document["paths"]


def test_interactive_docs(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert b"/api/v1/openapi.json" in response.content


def test_url_namespace():
    assert reverse("api-v1:meta") == "/api/v1/meta"
    assert reverse("health") == "/health"


def test_meta_describes_the_platform(client, settings):
    body = client.get("/api/v1/meta").json()
    assert body["name"] == "coko"
    assert body["api_version"] == "1"
    assert body["version"]
    assert body["languages"] == [code for code, _ in settings.LANGUAGES] == ["en", "fr"]


def test_every_domain_router_is_mounted_at_the_root(settings):
    mounted = {id(router): prefix for prefix, router in api._routers}
    for domain in settings.COKO_DOMAINS:
        router = importlib.import_module(f"coko.domains.{domain}.http").router
        assert mounted.get(id(router)) == "", domain

