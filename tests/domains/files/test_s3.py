"""Object storage on a real S3-compatible server (moto in server mode, on loopback), configured
exactly as ``config/settings.py`` configures it from COKO_S3_* variables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import boto3
import pytest
from django.utils.http import content_disposition_header
from moto.server import ThreadedMotoServer

from .conftest import epub_bytes, image_bytes, model, send, sha256

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
ROOT = Path(__file__).resolve().parents[3]
ACCESS_KEY, SECRET_KEY = "coko-test-key", "coko-test-secret"  # moto accepts any; never real ones


def settings_from_env(expression: str = "settings.STORAGES['coko_files']", **env: str) -> subprocess.CompletedProcess:
    """A setting (``STORAGES["coko_files"]`` by default) as the settings module builds it from
    ``env``, printed as JSON by a new process."""
    code = ("import json, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
            f"from django.conf import settings; print(json.dumps({expression}))")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COKO_S3_")}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**environ, **env})


@pytest.fixture(scope="module")
def s3_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_server, settings):
    name = f"coko-files-{uuid.uuid4().hex[:12]}"
    result = settings_from_env(COKO_S3_BUCKET=name, COKO_S3_ENDPOINT_URL=s3_server, COKO_S3_REGION="af-south-1",
                               COKO_S3_ACCESS_KEY_ID=ACCESS_KEY, COKO_S3_SECRET_ACCESS_KEY=SECRET_KEY,
                               COKO_S3_ADDRESSING_STYLE="path")
    assert result.returncode == 0, result.stderr
    settings.STORAGES = {**settings.STORAGES, "coko_files": json.loads(result.stdout)}
    client = boto3.client("s3", endpoint_url=s3_server, region_name="af-south-1", aws_access_key_id=ACCESS_KEY,
                          aws_secret_access_key=SECRET_KEY)
    client.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "af-south-1"})
    client.name = name
    return client


def keys(bucket) -> list[str]:
    return sorted(o["Key"] for o in bucket.list_objects_v2(Bucket=bucket.name).get("Contents", []))


def test_the_settings_switch_to_s3_only_when_a_bucket_is_named():
    local = json.loads(settings_from_env().stdout)
    assert local["BACKEND"] == "coko.domains.files.storage.ObjectFileSystemStorage"
    assert local["OPTIONS"]["location"].endswith(os.path.join("var", "media"))
    s3 = json.loads(settings_from_env(COKO_S3_BUCKET="coko-books", COKO_S3_REGION="eu-west-3").stdout)
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage"
    assert s3["OPTIONS"]["bucket_name"] == "coko-books" and s3["OPTIONS"]["region_name"] == "eu-west-3"
    assert s3["OPTIONS"]["file_overwrite"] is True and s3["OPTIONS"]["default_acl"] is None
    assert s3["OPTIONS"]["access_key"] is None  # the instance's role then, never a key in the repository


def test_half_a_key_pair_stops_the_process():
    result = settings_from_env(COKO_S3_BUCKET="coko-books", COKO_S3_ACCESS_KEY_ID="AKIA-only")
    assert result.returncode == 78
    assert "COKO_S3_ACCESS_KEY_ID, COKO_S3_SECRET_ACCESS_KEY: set both or neither" in result.stderr
    assert "AKIA-only" not in result.stderr


def test_upload_limits_come_from_the_environment():
    result = settings_from_env("settings.COKO_FILES", COKO_FILES_MAX_EPUB_BYTES="5000000",
                               COKO_FILES_IMAGE_MAX_PIXELS="1000000", COKO_FILES_DOWNLOAD_TTL_S="120",
                               COKO_FILES_UPLOADS_PER_HOUR="7")
    limits = json.loads(result.stdout)
    assert limits["MAX_BYTES"]["epub"] == 5_000_000 and limits["IMAGE_MAX_PIXELS"] == 1_000_000
    assert limits["DOWNLOAD_TTL_S"] == 120 and limits["UPLOAD_RATE"] == [7, 3600]
    bad = settings_from_env("settings.COKO_FILES", COKO_FILES_MAX_PDF_BYTES="huge", COKO_FILES_DOWNLOAD_TTL_S="1")
    assert bad.returncode == 78
    assert "COKO_FILES_MAX_PDF_BYTES: 'huge' is not an integer" in bad.stderr
    assert "COKO_FILES_DOWNLOAD_TTL_S: 1 is below the minimum 10" in bad.stderr


def test_an_upload_lands_in_the_bucket_once(author, bucket):
    data = epub_bytes()
    first = send(author, "/files/uploads", data, name="book.epub")
    again = send(author, "/files/uploads", data, name="copy.epub")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.data["id"] == again.data["id"]
    digest = sha256(data)
    assert keys(bucket) == [f"objects/{digest[:2]}/{digest[2:4]}/{digest}"]
    stored = bucket.get_object(Bucket=bucket.name, Key=keys(bucket)[0])["Body"].read()
    assert stored == data
    assert model("StoredObject").objects.count() == 1


def test_a_bad_file_leaves_the_bucket_empty(author, bucket):
    response = send(author, "/files/uploads", epub_bytes(extra={"../evil": b"x"}), name="book.epub")
    assert response.status_code == 422
    assert keys(bucket) == []


def test_covers_and_their_thumbnails_are_served_from_the_bucket(author, reader, bucket):
    body = send(author, "/files/ingest", epub_bytes(cover_image=image_bytes(600, 900)), name="b.epub").data
    assert len([k for k in keys(bucket) if k.startswith("derivatives/")]) == 3
    response = reader.client.get(body["cover"]["urls"]["medium"])
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
    original = reader.client.get(body["cover"]["urls"]["original"])
    assert b"".join(original.streaming_content) == image_bytes(600, 900)


def test_a_download_is_a_presigned_url_the_bucket_serves(author, reader, bucket, s3_server):
    data = epub_bytes()
    book_id = send(author, "/files/ingest", data, name="b.epub").data["book"]["id"]
    assert author.post(f"/books/{book_id}/publish").status_code == 200
    response = reader.get(f"/files/books/{book_id}/download?format=epub")
    assert response.status_code == 200, response.data
    url = response.data["url"]
    assert url.startswith(f"{s3_server}/{bucket.name}/objects/") and "X-Amz-Signature=" in url
    assert "X-Amz-Expires=300" in url  # (moto serves without checking signatures; S3 and MinIO check them)
    with urllib.request.urlopen(url, timeout=10) as download:  # plain HTTP, no credentials
        assert download.read() == data
        named = "Mariama Bâ - Une si longue lettre.epub"  # Author - Title, in RFC 6266's UTF-8 form
        assert download.headers["Content-Disposition"] == content_disposition_header(True, named)
        assert download.headers["Content-Type"] == "application/epub+zip"
