"""The blob store behind Django's storage API: ``STORAGES["coko_files"]``.

Local filesystem by default (``ObjectFileSystemStorage`` under ``var/media``), an
S3-compatible bucket (MinIO, AWS) through django-storages when ``COKO_S3_BUCKET`` is set.
Keys are derived from content (``objects/ab/cd/<sha256>``), so a key always holds the same
bytes: writing it again is harmless, and a write is atomic (a reader never sees half a blob).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from typing import BinaryIO

from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages
from django.utils.http import content_disposition_header

ALIAS = "coko_files"


class ObjectFileSystemStorage(FileSystemStorage):
    """Local blobs: written to a temporary file beside the target, then renamed over it."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("allow_overwrite", True)
        kwargs.setdefault("base_url", None)  # never served directly: signed routes only
        super().__init__(**kwargs)

    def _save(self, name, content):
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        os.makedirs(directory, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in content.chunks():
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(temporary, self.file_permissions_mode or 0o644)
            os.replace(temporary, full_path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise
        return name


def object_storage():
    return storages[ALIAS]


def object_key(sha256: str) -> str:
    return f"objects/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def derivative_key(source_sha256: str, name: str, extension: str = "webp") -> str:
    return f"derivatives/{source_sha256[:2]}/{source_sha256[2:4]}/{source_sha256}/{name}.{extension}"


def blob_write(*, key: str, fp: BinaryIO | None = None, data: bytes | None = None) -> None:
    """Write a blob under exactly ``key`` (overwriting the same content is fine)."""
    content = ContentFile(data) if data is not None else File(fp)
    if fp is not None:
        fp.seek(0)
    saved = object_storage().save(key, content)
    if saved != key:  # a storage that renames would break content addressing
        object_storage().delete(saved)
        raise RuntimeError(f"the files storage stored {key!r} as {saved!r}: configure it to overwrite")


def blob_delete(*, key: str) -> None:
    object_storage().delete(key)


def blob_exists(*, key: str) -> bool:
    return object_storage().exists(key)


def blob_open(*, key: str):
    return object_storage().open(key, "rb")


def presigned_url(*, key: str, expires_s: int, filename: str, media_type: str) -> str | None:
    """A time-limited URL the object store itself serves, or None when it cannot (local disk)."""
    storage = object_storage()
    if isinstance(storage, FileSystemStorage):
        return None
    from storages.backends.s3 import S3Storage

    if not isinstance(storage, S3Storage):
        return None
    return storage.url(key, expire=expires_s, parameters={
        "ResponseContentDisposition": content_disposition_header(True, filename),  # RFC 6266, UTF-8 names
        "ResponseContentType": media_type,
    })
