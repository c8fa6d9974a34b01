"""Request bodies over Django's limits are answered in the envelope, never a 500 (issue 10).

Django raises ``RequestDataTooBig``, ``TooManyFieldsSent``, ``TooManyFilesSent`` or
``MultiPartParserError`` when a view first reads the body; ninja reads it inside the
operation, so these reach the platform's handlers. Specified through the whole middleware
stack, on a probe API served next to the project's URLconf and on the real login route.
"""

from __future__ import annotations

import json
import types

import pytest
from django.test import Client
from django.urls import path
from ninja import File, Form, NinjaAPI, Schema
from ninja.files import UploadedFile

from coko.platform.http.api import install_error_handlers

BOUNDS_API = install_error_handlers(NinjaAPI(title="bounds", version="test", urls_namespace="bounds-api"))


class NoteIn(Schema):
    text: str


@BOUNDS_API.post("/json", auth=None)
def json_body(request, note: NoteIn):
    return {"length": len(note.text)}


@BOUNDS_API.post("/form", auth=None)
def form_body(request, title: Form[str], file: File[UploadedFile] = None):
    return {"title": title}


@pytest.fixture
def bounds_urls(settings):
    from config import urls as project_urls

    urlconf = types.ModuleType("bounds_urls")
    urlconf.urlpatterns = [path("api/bounds/", BOUNDS_API.urls), *project_urls.urlpatterns]
    settings.ROOT_URLCONF = urlconf
    return urlconf


def envelope(response, status: int) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    return body["error"]


def test_a_json_body_under_the_limit_is_read(bounds_urls, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = Client().post("/api/bounds/json", json.dumps({"text": "x" * 500}), content_type="application/json")
    assert response.status_code == 200 and response.json() == {"length": 500}


def test_a_json_body_over_the_limit_is_a_413(bounds_urls, settings):
    """Attack: a large JSON body, which used to be a 500 (RequestDataTooBig unmapped)."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = Client().post("/api/bounds/json", json.dumps({"text": "x" * 5000}), content_type="application/json")
    error = envelope(response, 413)
    assert error["code"] == "payload_too_large"
    assert error["details"] == {"reason": "body_too_large", "limit": 1024}


@pytest.mark.django_db(databases="__all__")
def test_a_json_body_over_the_limit_on_a_real_route_is_a_413(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = Client().post("/api/v1/auth/login", json.dumps({"identifier": "a@example.sn", "password": "x" * 5000}),
                             content_type="application/json")
    assert envelope(response, 413)["details"]["reason"] == "body_too_large"


def test_too_many_form_fields_is_a_413(bounds_urls, settings):
    """Attack: thousands of form fields (hash-flooding and parsing cost)."""
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    response = Client().post("/api/bounds/form", {"title": "t", **{f"f{i}": "v" for i in range(50)}})
    error = envelope(response, 413)
    assert error["details"] == {"reason": "too_many_fields", "limit": 10}


def test_too_many_files_is_a_413(bounds_urls, settings):
    """Attack: a multipart body of many file parts, each spooled to disk."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 2
    files = {f"file{i}": SimpleUploadedFile(f"{i}.txt", b"x") for i in range(5)}
    response = Client().post("/api/bounds/form", {"title": "t", **files})
    error = envelope(response, 413)
    assert error["details"] == {"reason": "too_many_files", "limit": 2}


def test_a_multipart_body_without_a_boundary_is_a_400(bounds_urls):
    """Attack: a multipart body Django cannot split (no boundary), which used to be a 500."""
    response = Client().post("/api/bounds/form", b"title=t", content_type="multipart/form-data")
    error = envelope(response, 400)
    assert error["code"] == "bad_request"
    assert error["details"] == {"reason": "multipart_invalid"}


def test_a_form_under_the_limits_is_read(bounds_urls):
    response = Client().post("/api/bounds/form", {"title": "t"})
    assert response.status_code == 200 and response.json() == {"title": "t"}
