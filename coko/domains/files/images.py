"""Cover thumbnails: WebP at a few widths, EXIF orientation applied, aspect ratio kept."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, ImageOps

from .contracts import COVER_SIZES

WEBP_QUALITY = 82


@dataclass(frozen=True)
class Thumbnail:
    name: str
    width: int
    height: int
    data: bytes
    sha256: str
    media_type: str = "image/webp"


def cover_thumbnails_make(*, fp: BinaryIO, sizes: dict[str, int] = COVER_SIZES) -> list[Thumbnail]:
    """One WebP per size name (width in pixels; an image narrower than that is not upscaled).

    Call only on an image ``inspection.image_check`` accepted.
    """
    fp.seek(0)
    with Image.open(fp) as source:
        image = ImageOps.exif_transpose(source)
        image.load()
    image = image.convert("RGBA" if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info else "RGB")
    thumbnails = []
    for name, width in sizes.items():
        target_w = min(width, image.width)
        target_h = max(1, round(image.height * target_w / image.width))
        resized = image.resize((target_w, target_h), Image.Resampling.LANCZOS) \
            if (target_w, target_h) != image.size else image
        buffer = io.BytesIO()
        resized.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=4)
        data = buffer.getvalue()
        thumbnails.append(Thumbnail(name=name, width=target_w, height=target_h, data=data,
                                    sha256=hashlib.sha256(data).hexdigest()))
    fp.seek(0)
    return thumbnails
