"""PDF, image and audio soundness: headers and trailers, a full decode of images under a
pixel limit, MPEG frames, Ogg pages and MP4 boxes."""

from __future__ import annotations

import re
import struct
import warnings
from typing import BinaryIO

from django.conf import settings
from PIL import Image

from coko.platform.errors import Unprocessable

from .. import errors
from ..contracts import COVER_SIZES
from ..errors import file_invalid


def mpeg_frame_ok(header: bytes) -> bool:
    """An MPEG audio Layer III frame header (sync, version, layer, bitrate, sample rate)."""
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return False
    version, layer = (header[1] >> 3) & 0b11, (header[1] >> 1) & 0b11
    bitrate, rate = header[2] >> 4, (header[2] >> 2) & 0b11
    return version != 0b01 and layer == 0b01 and bitrate not in (0, 0xF) and rate != 0b11 \
        and header[3] & 0b11 != 0b10


# --- PDF ------------------------------------------------------------------------------------------
def pdf_check(fp: BinaryIO, size: int) -> None:
    fp.seek(0)
    if not re.match(rb"%PDF-\d\.\d", fp.read(8)):
        raise file_invalid(errors.PDF_HEADER_INVALID)
    fp.seek(max(0, size - 1024))
    if b"%%EOF" not in fp.read(1024):
        raise file_invalid(errors.PDF_TRUNCATED)


# --- images ---------------------------------------------------------------------------------------
PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def decoded_bytes(width: int, height: int, mode: str) -> int:
    """Memory Pillow's pixel buffer of this size and mode takes (RGB is stored as 4 bytes)."""
    if mode in ("1", "L", "P"):
        per_pixel = 1
    elif mode.startswith("I;16"):
        per_pixel = 2
    else:
        per_pixel = 4
    return width * height * per_pixel


def image_decode(fp: BinaryIO, media_type: str, *, fit: int | None = None) -> tuple[Image.Image, int, int]:
    """``(decoded image, width, height)`` of an image, decoded under two bounds: its pixel count
    (``IMAGE_MAX_PIXELS``) and the memory its decoded pixels take (``IMAGE_MAX_DECODE_BYTES``),
    both checked from the header before a pixel is decoded. With ``fit``, a JPEG is decoded
    reduced (DCT scaling, ``Image.draft``) to the smallest size whose sides are at least ``fit``,
    so a large photo needs a fraction of its full memory; PNG and WebP have no reduced decode
    and are judged at full size. ``width``/``height`` are the image's own. Raises ``file_invalid``."""
    cfg = settings.COKO_FILES
    max_pixels, budget = cfg["IMAGE_MAX_PIXELS"], cfg["IMAGE_MAX_DECODE_BYTES"]
    fmt = [PILLOW_FORMATS[media_type]]
    width = height = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            fp.seek(0)
            image = Image.open(fp, formats=fmt)
            width, height = image.size
            if width * height > max_pixels:
                raise file_invalid(errors.IMAGE_TOO_MANY_PIXELS, width=width, height=height, limit=max_pixels)
            if fit and image.format == "JPEG":
                image.draft(image.mode, (fit, fit))
            needed = decoded_bytes(image.width, image.height, image.mode)
            if needed > budget:
                raise file_invalid(errors.IMAGE_TOO_LARGE_TO_DECODE, width=width, height=height,
                                   needed_bytes=needed, limit_bytes=budget)
            image.load()
    except Unprocessable:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise file_invalid(errors.IMAGE_TOO_MANY_PIXELS, width=width, height=height, limit=max_pixels) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, TypeError, MemoryError):
        raise file_invalid(errors.IMAGE_UNDECODABLE) from None
    if width < 1 or height < 1:
        raise file_invalid(errors.IMAGE_UNDECODABLE)
    return image, width, height


def image_check(fp: BinaryIO, media_type: str) -> tuple[int, int]:
    """Verify the image's structure, then decode all of it under the pixel and memory bounds
    (``image_decode``, reduced to the largest thumbnail); return ``(width, height)``."""
    fmt = [PILLOW_FORMATS[media_type]]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            fp.seek(0)
            with Image.open(fp, formats=fmt) as image:
                width, height = image.size
                max_pixels = settings.COKO_FILES["IMAGE_MAX_PIXELS"]
                if width * height > max_pixels:
                    raise file_invalid(errors.IMAGE_TOO_MANY_PIXELS, width=width, height=height, limit=max_pixels)
                image.verify()
    except Unprocessable:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise file_invalid(errors.IMAGE_TOO_MANY_PIXELS, width=None, height=None,
                           limit=settings.COKO_FILES["IMAGE_MAX_PIXELS"]) from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, TypeError, MemoryError):
        raise file_invalid(errors.IMAGE_UNDECODABLE) from None
    _image, width, height = image_decode(fp, media_type, fit=max(COVER_SIZES.values()))
    del _image  # not close(): that would close the caller's file
    fp.seek(0)
    return width, height


# --- audio ----------------------------------------------------------------------------------------
MP4_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"mp42", b"mp41", b"isom", b"iso2", b"iso5", b"iso6", b"dash"}
MP4_CONTAINERS = {b"moov", b"trak", b"mdia"}


def mp3_check(fp: BinaryIO) -> None:
    fp.seek(0)
    head = fp.read(10)
    offset = 0
    if head.startswith(b"ID3"):
        if len(head) < 10 or head[3] == 0xFF or any(b >= 0x80 for b in head[6:10]):
            raise file_invalid(errors.MP3_INVALID)
        tag = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
        offset = 10 + tag + (10 if head[5] & 0x10 else 0)
    fp.seek(offset)
    window = fp.read(64 * 1024)  # padding may follow the tag
    start = len(window) - len(window.lstrip(b"\x00"))
    if not mpeg_frame_ok(window[start:start + 4]):
        raise file_invalid(errors.MP3_NO_AUDIO_FRAME)


def ogg_check(fp: BinaryIO) -> str:
    fp.seek(0)
    page = fp.read(27 + 255)
    if len(page) < 28 or page[4] != 0 or not page[5] & 0x02:
        raise file_invalid(errors.OGG_INVALID)
    segments = page[26]
    packet = page[27 + segments:27 + segments + 8] if len(page) >= 27 + segments else b""
    if packet.startswith(b"OpusHead"):
        return "opus"
    if packet.startswith((b"\x01vorbis", b"\x7fFLAC", b"Speex   ")):
        return "ogg"
    raise file_invalid(errors.OGG_NOT_AUDIO)


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


def mp4_check(fp: BinaryIO, size: int) -> str:
    fp.seek(0)
    box_size, kind, major = struct.unpack(">I4s4s", fp.read(12).ljust(12, b"\x00"))
    fp.seek(16)
    compatible = fp.read(max(0, min(box_size, 256) - 16))
    brands = {major} | {compatible[i:i + 4] for i in range(0, len(compatible) - 3, 4)}
    if kind != b"ftyp" or not brands & MP4_AUDIO_BRANDS:
        raise file_invalid(errors.MP4_NOT_AUDIO)
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
        raise file_invalid(errors.MP4_INVALID) from None
    if b"soun" not in handlers or b"vide" in handlers:
        raise file_invalid(errors.MP4_NOT_AUDIO)
    return "m4b" if major == b"M4B " else "m4a"


