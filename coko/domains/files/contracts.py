"""Frozen data the files domain shares: facade results and event payloads.

No Django imports here: contracts must be importable by an extracted service.
"""

from __future__ import annotations

from dataclasses import dataclass

from coko.platform.contracts import EventPayload

# --- vocabularies ---------------------------------------------------------------------------------
#: What an upload can be, decided from its bytes (never from its name).
FILE_KINDS = ("epub", "pdf", "image", "audio")
#: The kinds a book can carry as a format (catalog's FORMAT_KINDS), and the image kind of covers.
BOOK_FORMAT_KINDS = ("epub", "pdf", "audio")
#: Cover thumbnails: name → width in pixels (WebP, aspect ratio kept, never upscaled).
COVER_SIZES = {"small": 96, "medium": 240, "large": 480}

# --- events the files domain publishes (payload version 1) --------------------------------------
FILE_STORED = "file.stored"


@dataclass(frozen=True)
class FileStored(EventPayload):
    """Payload of ``file.stored``: a new file (once per owner and content; owners of the same
    bytes share its blob)."""

    file_id: str
    kind: str  # one of FILE_KINDS
    media_type: str
    size: int
    sha256: str
    koreader_md5: str  # KOReader's partial MD5 of the bytes
    uploaded_by: str | None = None  # the accounts user whose file it is (None: the platform's)


EVENTS: dict[str, type[EventPayload]] = {FILE_STORED: FileStored}


# --- facade results -------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredFile:
    """A stored object as other domains see it (reading sync matches documents by its hashes)."""

    id: str
    kind: str
    media_type: str
    size: int
    sha256: str
    koreader_md5: str
    width: int | None = None  # images only
    height: int | None = None
