"""Files tests: real PostgreSQL and Redis, real blobs on a per-test disk (or a real S3 server on
loopback), and real files the tests build themselves (EPUBs, PDFs, images, audio)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from django.apps import apps

from coko.devtools.testing.api import PASSWORD, Api
from coko.domains.accounts.testing import user_with_roles
from coko.domains.files.testing import (  # noqa: F401 - the tests import the builders from here
    CONTAINER,
    epub_bytes,
    image_bytes,
    mp3_bytes,
    mp4_bytes,
    ogg_opus_bytes,
    opf_bytes,
    pdf_bytes,
    send,
)

__all__ = ["PASSWORD", "Api"]


# --- storage ----------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def media(settings, tmp_path) -> Path:
    """The files storage on this test's own directory."""
    root = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "coko_files": {
        "BACKEND": "coko.domains.files.storage.ObjectFileSystemStorage", "OPTIONS": {"location": str(root)}}}
    return root


def blobs(root: Path) -> list[str]:
    """Every blob on the local files storage, as keys."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def model(name: str):
    return apps.get_model("files", name)


def stored_events() -> list[dict]:
    return [row.payload for row in model("OutboxEvent").objects.filter(type="file.stored").order_by("id")]


def assert_nothing_stored(root: Path) -> None:
    assert model("StoredObject").objects.count() == 0
    assert model("Derivative").objects.count() == 0
    assert model("Upload").objects.count() == 0
    assert stored_events() == []
    assert blobs(root) == []


# --- people -----------------------------------------------------------------------------------------
@pytest.fixture
def author() -> Api:
    return user_with_roles("author", email="aminata@example.sn")


@pytest.fixture
def other_author() -> Api:
    return user_with_roles("author", email="ousmane@example.sn")


@pytest.fixture
def reader() -> Api:
    return user_with_roles(email="fatou@example.sn")


@pytest.fixture
def other_reader() -> Api:
    return user_with_roles(email="moussa@example.sn")


@pytest.fixture
def staff() -> Api:
    return user_with_roles("admin", email="staff@coko.africa")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
