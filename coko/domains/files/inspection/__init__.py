"""What an upload is, decided from its bytes, and whether it is sound.

``file_inspect`` sniffs the magic bytes, applies the size limit of the kind, checks the
structure (``inspection.epub``: EPUB container and OPF, zip-bomb and path-traversal guards;
``inspection.media``: PDF header and trailer, images fully decoded under a pixel limit, audio
frame/page/box headers) and hashes the bytes (SHA-256 and KOReader's partial MD5). A fault
raises ``file_invalid`` (422) with ``details["reason"]`` naming it (the reasons are declared in
``files.errors``); nothing is written here.

Limits come from ``settings.COKO_FILES`` (env-configurable, see config/settings.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings

from ..contracts import FILE_KINDS
from ..errors import EMPTY, FILE_KIND_NOT_ALLOWED, UNKNOWN_TYPE, file_invalid, file_too_large
from .epub import EPUB_MEDIA_TYPE, epub_check, xml_parse
from .media import image_check, mp3_check, mp4_check, mpeg_frame_ok, ogg_check, pdf_check

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Inspected:
    """A sound upload: what it is and its hashes."""

    kind: str
    media_type: str
    extension: str
    size: int
    sha256: str
    koreader_md5: str
    width: int | None = None
    height: int | None = None


# --- hashes ---------------------------------------------------------------------------------------
def koreader_partial_md5(fp: BinaryIO) -> str:
    """KOReader's ``util.partialMD5``: MD5 over 1 KiB samples at 1024 << 2i for i = -1..10.

    LuaJIT's ``bit.lshift`` masks the shift count to 5 bits, so ``lshift(1024, -2)`` is
    ``1024 << 30`` truncated to 32 bits: 0. The offsets are 0, 1 KiB, 4 KiB, 16 KiB …
    1 GiB; sampling stops at the first offset past the end of the file.
    """
    digest = hashlib.md5(usedforsecurity=False)
    for i in range(-1, 11):
        fp.seek(0 if i < 0 else 1024 << (2 * i))
        sample = fp.read(1024)
        if not sample:
            break
        digest.update(sample)
    return digest.hexdigest()


def sha256_of(fp: BinaryIO) -> str:
    fp.seek(0)
    digest = hashlib.sha256()
    while chunk := fp.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _size_of(fp: BinaryIO) -> int:
    fp.seek(0, 2)
    size = fp.tell()
    fp.seek(0)
    return size


# --- sniffing -------------------------------------------------------------------------------------
def sniff(head: bytes) -> tuple[str, str] | None:
    """``(kind, media_type)`` from a file's first bytes, or None when it is nothing we accept."""
    if head.startswith(b"PK\x03\x04"):
        return "epub", EPUB_MEDIA_TYPE
    if head.startswith(b"%PDF-"):
        return "pdf", "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image", "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image", "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "image/webp"
    if head.startswith(b"ID3") or mpeg_frame_ok(head[:4]):
        return "audio", "audio/mpeg"
    if head.startswith(b"OggS"):
        return "audio", "audio/ogg"
    if head[4:8] == b"ftyp":
        return "audio", "audio/mp4"
    return None


# --- the whole inspection -------------------------------------------------------------------------
def file_inspect(*, fp: BinaryIO, kinds: tuple[str, ...] = FILE_KINDS) -> Inspected:
    """Decide what ``fp`` holds from its bytes and check it thoroughly; raise on any fault."""
    size = _size_of(fp)
    if size == 0:
        raise file_invalid(EMPTY)
    head = fp.read(64)
    sniffed = sniff(head)
    if sniffed is None:
        raise file_invalid(UNKNOWN_TYPE, allowed=list(kinds))
    kind, media_type = sniffed
    if kind not in kinds:
        raise FILE_KIND_NOT_ALLOWED(kind=kind, media_type=media_type, allowed=list(kinds))
    limit = settings.COKO_FILES["MAX_BYTES"][kind]
    if size > limit:
        raise file_too_large(size=size, limit=limit, kind=kind)
    width = height = None
    if kind == "epub":
        epub_check(fp)
        extension = "epub"
    elif kind == "pdf":
        pdf_check(fp, size)
        extension = "pdf"
    elif kind == "image":
        width, height = image_check(fp, media_type)
        extension = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}[media_type]
    elif media_type == "audio/mpeg":
        mp3_check(fp)
        extension = "mp3"
    elif media_type == "audio/ogg":
        extension = ogg_check(fp)
    else:
        extension = mp4_check(fp, size)
    inspected = Inspected(kind=kind, media_type=media_type, extension=extension, size=size,
                          sha256=sha256_of(fp), koreader_md5=koreader_partial_md5(fp),
                          width=width, height=height)
    fp.seek(0)
    return inspected


__all__ = ["Inspected", "epub_check", "file_inspect", "image_check", "koreader_partial_md5", "pdf_check",
           "sha256_of", "sniff", "xml_parse"]
