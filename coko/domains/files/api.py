"""The files facade: the only functions other domains may call.

Arguments and results are plain values or the frozen types of ``files.contracts``;
models and querysets never cross this boundary.
"""

from __future__ import annotations

from . import contracts, selectors


def _stored_file(obj) -> contracts.StoredFile | None:
    if obj is None:
        return None
    return contracts.StoredFile(id=str(obj.id), kind=obj.kind, media_type=obj.media_type, size=obj.size,
                                sha256=obj.sha256, koreader_md5=obj.koreader_md5, width=obj.width,
                                height=obj.height)


def object_get(*, file_id: str) -> contracts.StoredFile | None:
    """A stored object by its id, or None."""
    return _stored_file(selectors.object_get(object_id=file_id))


def object_by_sha256(*, sha256: str) -> contracts.StoredFile | None:
    """The oldest file with these bytes (lowercase hex SHA-256), or None."""
    return _stored_file(selectors.object_by_sha256(sha256=sha256))


def object_by_koreader_md5(*, md5: str) -> contracts.StoredFile | None:
    """The stored object whose KOReader partial MD5 is ``md5`` (kosync's ``document``), or None."""
    return _stored_file(selectors.object_by_koreader_md5(md5=md5))


def cover_urls(*, file_id: str) -> dict[str, str] | None:
    """``original``, ``small``, ``medium``, ``large`` URLs of an image object, or None."""
    from . import services

    obj = selectors.object_get(object_id=file_id)
    if obj is None or obj.kind != "image":
        return None
    return services.cover_urls(object_id=obj.id)
