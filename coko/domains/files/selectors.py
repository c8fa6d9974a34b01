"""Files reads."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from .models import Derivative, StoredObject, Upload


def object_get(*, object_id) -> StoredObject | None:
    try:
        return StoredObject.objects.filter(id=object_id).first()
    except (ValueError, TypeError, ValidationError):  # not a UUID
        return None


def object_by_sha256(*, sha256: str) -> StoredObject | None:
    """The oldest file with these bytes (each owner of the same bytes has their own)."""
    return StoredObject.objects.filter(sha256=sha256.lower()).order_by("created_at", "id").first()


def object_by_koreader_md5(*, md5: str) -> StoredObject | None:
    """The oldest object with this partial MD5 (distinct files may share one; rare)."""
    return StoredObject.objects.filter(koreader_md5=md5.lower()).order_by("created_at", "id").first()


def object_uploaded_by(*, object_id, user_id) -> bool:
    return Upload.objects.filter(object_id=object_id, user_id=user_id).exists()


def derivatives_of(*, object_id) -> dict[str, Derivative]:
    return {d.name: d for d in Derivative.objects.filter(source_id=object_id)}


def derivative_get(*, object_id, name: str) -> Derivative | None:
    try:
        return Derivative.objects.select_related("source").filter(source_id=object_id, name=name).first()
    except (ValueError, TypeError, ValidationError):
        return None
