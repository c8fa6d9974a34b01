"""Every error the files domain answers: one code, one message, one shape of details.

A file whose content is wrong is always ``file_invalid`` (422) with the same message;
``details["reason"]`` names the fault (a stable, machine-readable word clients branch on),
``details["explanation"]`` says it in the request's language, and the reason's own context
keys follow (``entry``, ``limit`` …). The reasons are declared below, each with its one
explanation and the context keys it may carry; raise them with ``file_invalid(REASON, **context)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_lazy as _

from coko.platform.auth.basic import BasicRefused
from coko.platform.errors import DomainError, ErrorCode, NotFound, PermissionDenied, Unprocessable

D = "files"

# --- uploads ----------------------------------------------------------------------------------------
FILE_INVALID = ErrorCode(D, "file_invalid", Unprocessable, _("This file cannot be accepted."),
                         details=None)  # {"reason", "explanation", **the reason's context}: see Reason
FILE_TOO_LARGE = ErrorCode(D, "file_too_large", DomainError, _("This file is larger than allowed."),
                           details=("size", "limit", "kind"), status=413)  # kind: None before the body is read
FILE_KIND_NOT_ALLOWED = ErrorCode(D, "file_kind_not_allowed", Unprocessable,
                                  _("This kind of file cannot be used here."),
                                  details=("kind", "media_type", "allowed"))
FILE_REQUIRED = ErrorCode(D, "file_required", Unprocessable,
                          _("Send either a file or the id of a file you uploaded."))
FILE_NOT_FOUND = ErrorCode(D, "file_not_found", NotFound, _("No file of yours has this id."),
                           details=("file_id",))

# accounts' code, same message and shape: the avatar is checked here, refused there too
AVATAR_INVALID = ErrorCode(D, "avatar_invalid", Unprocessable,
                           _("An avatar must be an image you uploaded, chosen with PUT /api/v1/files/avatar."),
                           details=("field",))

# --- books --------------------------------------------------------------------------------------------
BOOK_NOT_FOUND = ErrorCode(D, "book_not_found", NotFound, _("There is no such book."), details=("book_id",))
BOOK_NOT_EDITABLE = ErrorCode(D, "book_not_editable", PermissionDenied,
                              _("Only the book's owner or staff may change its files."), details=("book_id",))

# --- covers -------------------------------------------------------------------------------------------
# size: the one asked for ("original" or a thumbnail's name); sizes: the thumbnails' names
COVER_NOT_FOUND = ErrorCode(D, "cover_not_found", NotFound, _("There is no such cover image."),
                            details=("file_id", "size", "sizes"))

# --- downloads ----------------------------------------------------------------------------------------
DOWNLOAD_NOT_ALLOWED = ErrorCode(D, "download_not_allowed", PermissionDenied, _("You may not download this book."),
                                 details=("book_id", "access_model"))
DOWNLOAD_SIGN_IN = ErrorCode(D, "unauthorized", BasicRefused, _("Authentication is required."))
FORMAT_NOT_FOUND = ErrorCode(D, "format_not_found", NotFound, _("This book has no file in this format."),
                             details=("format", "available"))
DOWNLOAD_TOKEN_INVALID = ErrorCode(D, "download_token_invalid", PermissionDenied,
                                   _("This download link is not valid."))
DOWNLOAD_NOT_YOURS = ErrorCode(D, "download_not_yours", PermissionDenied,
                               _("This download link was made for another account: ask for your own."))
DOWNLOAD_EXPIRED = ErrorCode(D, "download_expired", DomainError,
                             _("This download link has expired: ask for a new one."), status=410)
FILE_GONE = ErrorCode(D, "gone", DomainError, _("This file no longer exists."), status=410)


# --- why a file is invalid ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reason:
    """One fault of ``file_invalid``: its word, its explanation, the context keys it may carry."""

    reason: str
    explanation: Any
    context: tuple[str, ...] = ()


_reasons: dict[str, Reason] = {}


def _reason(reason: str, explanation: Any, *context: str) -> Reason:
    declared = Reason(reason, explanation, context)
    _reasons[reason] = declared
    return declared


EMPTY = _reason("empty", _("This file is empty."))
UNKNOWN_TYPE = _reason("unknown_type", _("This file is not a type we accept (EPUB, PDF, JPEG, PNG, WebP, "
                                         "MP3, M4A/M4B, Ogg)."), "allowed")
# EPUB: the zip archive
EPUB_NOT_A_ZIP = _reason("epub_not_a_zip", _("This EPUB is not a readable zip archive."))
EPUB_TOO_MANY_ENTRIES = _reason("epub_too_many_entries", _("This EPUB holds too many files."), "entries", "limit")
EPUB_PATH_TRAVERSAL = _reason("epub_path_traversal", _("This EPUB holds a file with an unsafe path."), "entry")
EPUB_DUPLICATE_ENTRY = _reason("epub_duplicate_entry", _("This EPUB holds two files with the same path."),
                               "entry")
EPUB_ENCRYPTED_ENTRY = _reason("epub_encrypted_entry", _("This EPUB holds an encrypted zip entry."), "entry")
# one entry expanding too far (entry, ratio, max_ratio) or all of them (uncompressed_size, limit)
EPUB_ZIP_BOMB = _reason("epub_zip_bomb", _("This EPUB expands far beyond its size (zip bomb)."),
                        "entry", "ratio", "max_ratio", "uncompressed_size", "limit")
EPUB_CORRUPT = _reason("epub_corrupt", _("This EPUB's zip archive is damaged."))
# EPUB: the container and the package
EPUB_MIMETYPE_MISSING = _reason("epub_mimetype_missing", _("This EPUB does not start with its 'mimetype' file."),
                                "first_entry")
EPUB_MIMETYPE_INVALID = _reason("epub_mimetype_invalid",
                                _("This EPUB's 'mimetype' file does not say application/epub+zip."))
EPUB_CONTAINER_MISSING = _reason("epub_container_missing", _("This EPUB has no META-INF/container.xml."))
EPUB_CONTAINER_INVALID = _reason("epub_container_invalid",
                                 _("This EPUB's META-INF/container.xml is not valid XML."), "error")
EPUB_ROOTFILE_MISSING = _reason("epub_rootfile_missing", _("This EPUB's container names no package (OPF) file."))
EPUB_OPF_MISSING = _reason("epub_opf_missing", _("This EPUB's package (OPF) file is missing."), "path")
# not XML (path, error) or XML that is not an OPF package (path)
EPUB_OPF_INVALID = _reason("epub_opf_invalid", _("This EPUB's package (OPF) file is not a valid OPF package."),
                           "path", "error")
EPUB_UNREADABLE = _reason("epub_unreadable", _("This EPUB's package could not be read."), "error")
EPUB_TITLE_MISSING = _reason("epub_title_missing", _("This EPUB's package has no title (dc:title)."))
EPUB_COVER_INVALID = _reason("epub_cover_invalid", _("This EPUB's cover image is not a valid image."),
                             "entry", "cover")  # cover: the image's own file_invalid details
# EPUB: bounds on what is parsed and read (issue 10)
EPUB_XML_TOO_LARGE = _reason("epub_xml_too_large", _("This EPUB holds an XML file (container, package or navigation) "
                                                     "larger than allowed."), "entry", "size", "limit")
EPUB_XML_TOO_MANY_ELEMENTS = _reason("epub_xml_too_many_elements",
                                     _("This EPUB holds an XML file with too many elements."), "entry", "limit")
EPUB_ROOTFILE_MULTIPLE = _reason("epub_rootfile_multiple",
                                 _("This EPUB's container names more than one package (OPF) file."), "count")
EPUB_NAV_INVALID = _reason("epub_nav_invalid", _("This EPUB's navigation document is not valid XML."),
                           "entry", "error")
# ingestion reads the package, its navigation and the cover only: more than this in all
EPUB_TOO_LARGE_TO_READ = _reason("epub_too_large_to_read", _("This EPUB's package, navigation and cover are "
                                                             "larger than allowed."), "size", "limit")
# PDF
PDF_HEADER_INVALID = _reason("pdf_header_invalid", _("This PDF's header is not valid."))
PDF_TRUNCATED = _reason("pdf_truncated", _("This PDF is truncated: it has no end-of-file marker."))
# images
IMAGE_TOO_MANY_PIXELS = _reason("image_too_many_pixels", _("This image has too many pixels (decompression bomb)."),
                                "width", "height", "limit")
IMAGE_UNDECODABLE = _reason("image_undecodable", _("This image cannot be decoded."))
# decoding it (after JPEG's reduced-size decode) would need more memory than allowed (bytes)
IMAGE_TOO_LARGE_TO_DECODE = _reason("image_too_large_to_decode",
                                    _("This image would need too much memory to decode."),
                                    "width", "height", "needed_bytes", "limit_bytes")
# audio
MP3_INVALID = _reason("mp3_invalid", _("This MP3's ID3 tag is not valid."))
MP3_NO_AUDIO_FRAME = _reason("mp3_no_audio_frame", _("This MP3 holds no MPEG audio frame."))
OGG_INVALID = _reason("ogg_invalid", _("This Ogg file does not start with a valid first page."))
OGG_NOT_AUDIO = _reason("ogg_not_audio", _("This Ogg file holds no known audio stream."))
# an MP4 without an audio brand, or whose tracks are not one audio track
MP4_NOT_AUDIO = _reason("mp4_not_audio", _("This MP4 file is not an audio file we accept."))
MP4_INVALID = _reason("mp4_invalid", _("This MP4 file's structure is damaged."))


def reasons() -> dict[str, Reason]:
    """Every declared fault of ``file_invalid`` by its word."""
    return dict(_reasons)


def file_invalid(reason: Reason, **context: Any) -> DomainError:
    """The 422 ``file_invalid`` of ``reason``, with context keys it declares (each optional)."""
    unknown = set(context) - set(reason.context)
    if unknown:
        raise TypeError(f"file_invalid {reason.reason} takes the context {list(reason.context)}, "
                        f"not {sorted(unknown)}")
    return FILE_INVALID(reason=reason.reason, explanation=reason.explanation, **context)


def file_too_large(*, size: int, limit: int, kind: str | None = None) -> DomainError:
    return FILE_TOO_LARGE(size=size, limit=limit, kind=kind)
