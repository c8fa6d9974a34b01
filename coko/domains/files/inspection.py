"""What an upload is, decided from its bytes, and whether it is sound.

``file_inspect`` sniffs the magic bytes, applies the size limit of the kind, checks the
structure (EPUB container and OPF, zip-bomb and path-traversal guards; PDF header and
trailer; images fully decoded under a pixel limit; audio frame/page/box headers) and
hashes the bytes (SHA-256 and KOReader's partial MD5). A fault raises ``Unprocessable``
with code ``file_invalid`` and ``details["reason"]`` naming it; nothing is written here.

Limits come from ``settings.COKO_FILES`` (env-configurable, see config/settings.py).
"""

from __future__ import annotations

import hashlib
import re
import struct
import warnings
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from lxml import etree
from PIL import Image

from coko.platform.errors import DomainError, Unprocessable

from .contracts import FILE_KINDS

EPUB_MEDIA_TYPE = "application/epub+zip"
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
OPF_NS = "http://www.idpf.org/2007/opf"
OPF_MEDIA_TYPE = "application/oebps-package+xml"
# An entry smaller than this cannot be a bomb whatever its ratio (markup compresses well).
RATIO_MIN_ENTRY_BYTES = 64 * 1024
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


# --- errors ---------------------------------------------------------------------------------------
def file_invalid(reason: str, message, **details) -> Unprocessable:
    """The 422 of a file whose content is wrong; ``reason`` is the machine-readable fault."""
    return Unprocessable("file_invalid", message, details={"reason": reason, **details})


def file_too_large(*, size: int, limit: int, kind: str | None = None) -> DomainError:
    details = {"size": size, "limit": limit}
    if kind:
        details["kind"] = kind
    return DomainError("file_too_large", _("This file is larger than allowed."), status=413, details=details)


def limits() -> dict:
    return settings.COKO_FILES


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


# --- safe XML -----------------------------------------------------------------------------------
def xml_parse(data: bytes):
    """Parse XML with no entity expansion, no DTD loading and no network; refuse entity
    declarations outright (billion laughs, external entities). Raises ``ValueError``."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                             huge_tree=False, remove_pis=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(str(exc)) from None
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _entity in dtd.iterentities()):
        raise ValueError("entity declarations are not allowed")
    return root


# --- sniffing -------------------------------------------------------------------------------------
def _mpeg_frame_ok(header: bytes) -> bool:
    """An MPEG audio Layer III frame header (sync, version, layer, bitrate, sample rate)."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return False
    version, layer = (header[1] >> 3) & 0b11, (header[1] >> 1) & 0b11
    bitrate, rate = header[2] >> 4, (header[2] >> 2) & 0b11
    return version != 0b01 and layer == 0b01 and bitrate not in (0, 0xF) and rate != 0b11 \
        and header[3] & 0b11 != 0b10


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
    if head.startswith(b"ID3") or _mpeg_frame_ok(head[:4]):
        return "audio", "audio/mpeg"
    if head.startswith(b"OggS"):
        return "audio", "audio/ogg"
    if head[4:8] == b"ftyp":
        return "audio", "audio/mp4"
    return None


# --- EPUB -----------------------------------------------------------------------------------------
def _entry_name_unsafe(name: str) -> bool:
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return True
    return any(part == ".." for part in name.split("/"))


def epub_check(fp: BinaryIO) -> str:
    """Check an EPUB's zip and container; return the OPF's path inside the zip."""
    cfg = limits()
    fp.seek(0)
    try:
        zf = zipfile.ZipFile(fp)
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise file_invalid("epub_not_a_zip", _("This EPUB is not a readable zip archive.")) from None
    if len(infos) > cfg["EPUB_MAX_ENTRIES"]:
        raise file_invalid("epub_too_many_entries", _("This EPUB holds too many files."),
                           entries=len(infos), limit=cfg["EPUB_MAX_ENTRIES"])
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        if _entry_name_unsafe(name):
            raise file_invalid("epub_path_traversal", _("This EPUB holds a file with an unsafe path."),
                               entry=name)
        if name in seen:
            raise file_invalid("epub_duplicate_entry", _("This EPUB holds two files with the same path."),
                               entry=name)
        seen.add(name)
        if info.flag_bits & 0x1:
            raise file_invalid("epub_encrypted_entry", _("This EPUB holds an encrypted zip entry."), entry=name)
        total += info.file_size
        if info.file_size >= RATIO_MIN_ENTRY_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > cfg["EPUB_MAX_RATIO"]:
                raise file_invalid("epub_zip_bomb", _("This EPUB expands far beyond its size (zip bomb)."),
                                   entry=name, ratio=round(ratio, 1), max_ratio=cfg["EPUB_MAX_RATIO"])
    if total > cfg["EPUB_MAX_UNCOMPRESSED_BYTES"]:
        raise file_invalid("epub_zip_bomb", _("This EPUB expands far beyond its size (zip bomb)."),
                           uncompressed_size=total, limit=cfg["EPUB_MAX_UNCOMPRESSED_BYTES"])
    try:
        return _epub_container_check(zf, infos)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError):
        raise file_invalid("epub_corrupt", _("This EPUB's zip archive is damaged.")) from None


def _epub_container_check(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> str:
    first = infos[0] if infos else None
    if first is None or first.filename != "mimetype":
        raise file_invalid("epub_mimetype_missing", _("This EPUB does not start with its 'mimetype' file."),
                           first_entry=first.filename if first else None)
    if first.file_size > 64 or zf.read(first).strip() != EPUB_MEDIA_TYPE.encode():
        raise file_invalid("epub_mimetype_invalid",
                           _("This EPUB's 'mimetype' file does not say application/epub+zip."))
    names = {info.filename for info in infos}
    if "META-INF/container.xml" not in names:
        raise file_invalid("epub_container_missing", _("This EPUB has no META-INF/container.xml."))
    try:
        container = xml_parse(zf.read("META-INF/container.xml"))
    except ValueError as exc:
        raise file_invalid("epub_container_invalid", _("This EPUB's META-INF/container.xml is not valid XML."),
                           error=str(exc)[:200]) from None
    rootfile = None
    for element in container.iter(f"{{{CONTAINER_NS}}}rootfile"):
        if element.get("media-type") == OPF_MEDIA_TYPE and element.get("full-path"):
            rootfile = element.get("full-path")
            break
    if rootfile is None:
        raise file_invalid("epub_rootfile_missing", _("This EPUB's container names no package (OPF) file."))
    if _entry_name_unsafe(rootfile):
        raise file_invalid("epub_path_traversal", _("This EPUB holds a file with an unsafe path."), entry=rootfile)
    if rootfile not in names:
        raise file_invalid("epub_opf_missing", _("This EPUB's package (OPF) file is missing."), path=rootfile)
    try:
        opf = xml_parse(zf.read(rootfile))
    except ValueError as exc:
        raise file_invalid("epub_opf_invalid", _("This EPUB's package (OPF) file is not valid XML."),
                           path=rootfile, error=str(exc)[:200]) from None
    if opf.tag != f"{{{OPF_NS}}}package" or opf.find(f"{{{OPF_NS}}}metadata") is None:
        raise file_invalid("epub_opf_invalid", _("This EPUB's package (OPF) file is not an OPF package."),
                           path=rootfile)
    return rootfile


# --- PDF ------------------------------------------------------------------------------------------
def pdf_check(fp: BinaryIO, size: int) -> None:
    fp.seek(0)
    if not re.match(rb"%PDF-\d\.\d", fp.read(8)):
        raise file_invalid("pdf_header_invalid", _("This PDF's header is not valid."))
    fp.seek(max(0, size - 1024))
    if b"%%EOF" not in fp.read(1024):
        raise file_invalid("pdf_truncated", _("This PDF is truncated: it has no end-of-file marker."))


# --- images ---------------------------------------------------------------------------------------
PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def image_check(fp: BinaryIO, media_type: str) -> tuple[int, int]:
    """Decode the whole image safely; return ``(width, height)``. Too many pixels is a 422."""
    max_pixels = limits()["IMAGE_MAX_PIXELS"]
    fmt = [PILLOW_FORMATS[media_type]]

    def too_many(width=None, height=None):
        return file_invalid("image_too_many_pixels", _("This image has too many pixels (decompression bomb)."),
                            width=width, height=height, limit=max_pixels)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            fp.seek(0)
            with Image.open(fp, formats=fmt) as image:
                width, height = image.size
                if width * height > max_pixels:
                    raise too_many(width, height)
                image.verify()
            fp.seek(0)
            with Image.open(fp, formats=fmt) as image:
                image.load()
    except Unprocessable:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise too_many() from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, TypeError, MemoryError):
        raise file_invalid("image_undecodable", _("This image cannot be decoded.")) from None
    if width < 1 or height < 1:
        raise file_invalid("image_undecodable", _("This image cannot be decoded."))
    return width, height


# --- audio ----------------------------------------------------------------------------------------
MP4_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"mp42", b"mp41", b"isom", b"iso2", b"iso5", b"iso6", b"dash"}
MP4_CONTAINERS = {b"moov", b"trak", b"mdia"}


def _mp3_check(fp: BinaryIO) -> None:
    fp.seek(0)
    head = fp.read(10)
    offset = 0
    if head.startswith(b"ID3"):
        if len(head) < 10 or head[3] == 0xFF or any(b >= 0x80 for b in head[6:10]):
            raise file_invalid("mp3_invalid", _("This MP3's ID3 tag is not valid."))
        tag = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
        offset = 10 + tag + (10 if head[5] & 0x10 else 0)
    fp.seek(offset)
    window = fp.read(64 * 1024)  # padding may follow the tag
    start = len(window) - len(window.lstrip(b"\x00"))
    if not _mpeg_frame_ok(window[start:start + 4]):
        raise file_invalid("mp3_no_audio_frame", _("This MP3 holds no MPEG audio frame."))


def _ogg_check(fp: BinaryIO) -> str:
    fp.seek(0)
    page = fp.read(27 + 255)
    if len(page) < 28 or page[4] != 0 or not page[5] & 0x02:
        raise file_invalid("ogg_invalid", _("This Ogg file does not start with a valid first page."))
    segments = page[26]
    packet = page[27 + segments:27 + segments + 8] if len(page) >= 27 + segments else b""
    if packet.startswith(b"OpusHead"):
        return "opus"
    if packet.startswith((b"\x01vorbis", b"\x7fFLAC", b"Speex   ")):
        return "ogg"
    raise file_invalid("ogg_not_audio", _("This Ogg file holds no known audio stream."))


def _mp4_boxes(fp: BinaryIO, start: int, end: int):
    """``(type, payload_start, payload_end)`` of the boxes between start and end."""
    offset, count = start, 0
    while offset + 8 <= end:
        count += 1
        if count > 10000:
            raise ValueError("too many boxes")
        fp.seek(offset)
        size, kind = struct.unpack(">I4s", fp.read(8))
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", fp.read(8))[0], 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            raise ValueError("box outside its parent")
        yield kind, offset + header, offset + size
        offset += size


def _mp4_check(fp: BinaryIO, size: int) -> str:
    fp.seek(0)
    box_size, kind, major = struct.unpack(">I4s4s", fp.read(12).ljust(12, b"\x00"))
    fp.seek(16)
    compatible = fp.read(max(0, min(box_size, 256) - 16))
    brands = {major} | {compatible[i:i + 4] for i in range(0, len(compatible) - 3, 4)}
    if kind != b"ftyp" or not brands & MP4_AUDIO_BRANDS:
        raise file_invalid("mp4_not_audio", _("This MP4 file is not an audio file we accept."))
    handlers: set[bytes] = set()

    def walk(start, end, depth):
        for box, payload, stop in _mp4_boxes(fp, start, end):
            if box in MP4_CONTAINERS and depth < 4:
                walk(payload, stop, depth + 1)
            elif box == b"hdlr" and stop - payload >= 12:
                fp.seek(payload + 8)
                handlers.add(fp.read(4))

    try:
        walk(0, size, 0)
    except (ValueError, struct.error):
        raise file_invalid("mp4_invalid", _("This MP4 file's structure is damaged.")) from None
    if b"soun" not in handlers or b"vide" in handlers:
        raise file_invalid("mp4_not_audio", _("This MP4 file holds no audio track, or holds video."))
    return "m4b" if major == b"M4B " else "m4a"


# --- the whole inspection -------------------------------------------------------------------------
def file_inspect(*, fp: BinaryIO, kinds: tuple[str, ...] = FILE_KINDS) -> Inspected:
    """Decide what ``fp`` holds from its bytes and check it thoroughly; raise on any fault."""
    size = _size_of(fp)
    if size == 0:
        raise file_invalid("empty", _("This file is empty."))
    head = fp.read(64)
    sniffed = sniff(head)
    if sniffed is None:
        raise file_invalid("unknown_type", _("This file is not a type we accept (EPUB, PDF, JPEG, PNG, WebP, "
                                             "MP3, M4A/M4B, Ogg)."), allowed=list(kinds))
    kind, media_type = sniffed
    if kind not in kinds:
        raise Unprocessable("file_kind_not_allowed", _("This kind of file cannot be used here."),
                            details={"kind": kind, "media_type": media_type, "allowed": list(kinds)})
    limit = limits()["MAX_BYTES"][kind]
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
        _mp3_check(fp)
        extension = "mp3"
    elif media_type == "audio/ogg":
        extension = _ogg_check(fp)
    else:
        extension = _mp4_check(fp, size)
    inspected = Inspected(kind=kind, media_type=media_type, extension=extension, size=size,
                          sha256=sha256_of(fp), koreader_md5=koreader_partial_md5(fp),
                          width=width, height=height)
    fp.seek(0)
    return inspected
