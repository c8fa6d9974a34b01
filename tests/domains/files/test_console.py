"""Staff see stored objects, their derivatives and uploads in the admin console, read-only;
other domains reach files through the facade only."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from coko.domains.files import api as files_api

from .conftest import image_bytes, pdf_bytes, send

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.fixture
def console() -> Client:
    client = Client()
    client.force_login(get_user_model().objects.create_superuser("ops@coko.africa", "a long staff passphrase"))
    return client


def test_stored_objects_and_derivatives_are_listed_read_only(author, console):
    image = send(author, "/files/uploads", image_bytes(300, 450), name="cover.jpg").data
    send(author, "/files/uploads", pdf_bytes(), name="book.pdf")
    listing = console.get("/admin/files/storedobject/")
    assert listing.status_code == 200
    assert image["sha256"].encode() in listing.content
    detail = console.get(f"/admin/files/storedobject/{image['id']}/change/")
    assert detail.status_code == 200
    assert b"small" in detail.content and b"cover.jpg" in detail.content  # derivatives and uploads inline
    assert console.get("/admin/files/derivative/").status_code == 200
    assert console.get("/admin/files/upload/").status_code == 200
    assert console.get("/admin/files/storedobject/add/").status_code == 403
    deleted = console.post(f"/admin/files/storedobject/{image['id']}/delete/", {"post": "yes"})
    assert deleted.status_code == 403
    assert console.get("/admin/files/outboxevent/").status_code == 200


def test_the_facade_describes_covers(author):
    image = send(author, "/files/uploads", image_bytes(300, 450), name="cover.jpg").data
    pdf = send(author, "/files/uploads", pdf_bytes(), name="book.pdf").data
    assert files_api.cover_urls(file_id=image["id"]) == image["urls"]
    assert image["urls"]["small"] == f"/api/v1/files/covers/{image['id']}/small.webp"
    assert image["urls"]["original"] == f"/api/v1/files/covers/{image['id']}/original"
    assert files_api.cover_urls(file_id=pdf["id"]) is None
    found = files_api.object_get(file_id=image["id"])
    assert (found.kind, found.width, found.height) == ("image", 300, 450)


def test_cover_urls_can_carry_a_public_base(author, settings):
    settings.COKO_FILES = {**settings.COKO_FILES, "PUBLIC_BASE_URL": "https://cdn.coko.africa/"}
    image = send(author, "/files/uploads", image_bytes(300, 450), name="cover.jpg").data
    assert image["urls"]["medium"] == f"https://cdn.coko.africa/api/v1/files/covers/{image['id']}/medium.webp"
