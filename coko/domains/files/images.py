"""Cover thumbnails: WebP at a few widths, EXIF orientation applied, aspect ratio kept."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image

from .contracts import COVER_SIZES
from .inspection import sniff
from .inspection.media import image_decode

WEBP_QUALITY = 82


@dataclass(frozen=True)
class Thumbnail:
    name: str
    width: int
    height: int
    data: bytes
    sha256: str
    media_type: str = "image/webp"


ORIENTATION = 0x0112
TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
             5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
             8: Image.Transpose.ROTATE_90}


def cover_thumbnails_make(*, fp: BinaryIO, sizes: dict[str, int] = COVER_SIZES) -> list[Thumbnail]:
    """One WebP per size name (width in pixels; an image narrower than that is not upscaled).

    Call only on an image ``inspection.image_check`` accepted. Decoded under the same bounds
    (``image_decode``: a JPEG at reduced scale), then reduced by an integer factor to about the
    largest size before it is turned upright and converted, so no full-size copy is made.
    """
    fp.seek(0)
    sniffed = sniff(fp.read(64))
    media_type = sniffed[1] if sniffed else "image/jpeg"
    largest = max(sizes.values())
    image, width, height = image_decode(fp, media_type, fit=largest)
    orientation = image.getexif().get(ORIENTATION)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    factor = max(1, min(image.width, image.height) // largest)
    if factor > 1:
        image = image.reduce(factor)  # the full-size buffer is freed here
    if orientation in TRANSPOSE:
        image = image.transpose(TRANSPOSE[orientation])
        if orientation in (5, 6, 7, 8):
            width, height = height, width
    mode = "RGBA" if has_alpha else "RGB"
    if image.mode != mode:
        image = image.convert(mode)
    thumbnails = []
    for name, size in sizes.items():
        target_w = min(size, width)
        target_h = max(1, round(height * target_w / width))
        resized = image.resize((target_w, target_h), Image.Resampling.LANCZOS) \
            if (target_w, target_h) != image.size else image
        buffer = io.BytesIO()
        resized.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=4)
        data = buffer.getvalue()
        thumbnails.append(Thumbnail(name=name, width=target_w, height=target_h, data=data,
                                    sha256=hashlib.sha256(data).hexdigest()))
    fp.seek(0)
    return thumbnails
