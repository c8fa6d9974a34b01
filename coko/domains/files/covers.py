"""Covers the platform makes or fetches itself, stored like uploaded ones (``object_store``:
inspected, content-addressed, WebP thumbnails) and set on the book through the catalog facade.

* **Generated covers** (``cover_generate``): a typographic cover drawn with Pillow — the
  title and the authors on a colour of ``PALETTE`` chosen by the book's id (the same book,
  the same colour), and a small "generated cover" mark at the bottom, so nobody takes it
  for the publisher's. The catalogue tells readers so too (``cover.generated``, ``alt``).
  ``make run`` draws one for each starter book that has no cover (``demo.py``).
* **Fetched covers** (``cover_fetch``): an import that knows where a book's cover is (the
  ``image_url`` of goodbooks) leaves it in the catalogue as the book's *cover source*; this
  downloads it through the platform's outbound client (SSRF-checked, no proxies, no
  redirects to anywhere unchecked), refuses what is not an image or is over
  ``COKO_FILES['COVER_FETCH_MAX_BYTES']``, stores it and sets it. Until then the book shows
  no cover (or its generated one): no answer ever points at the other host. Run by the
  ``files.cover_fetch`` actor (``tasks.py``): network errors, timeouts, 429 and 5xx are
  retried with back-off (``CoverFetchRetry``); anything else is final and the source dropped.
"""

from __future__ import annotations

import hashlib
import io
import textwrap
from functools import lru_cache

from django.conf import settings

from coko.domains.catalog import api as catalog_api
from coko.domains.catalog.contracts import BookSummary, Cover
from coko.platform import outbound
from coko.platform.errors import DomainError
from coko.platform.observability import get_logger

from . import services

log = get_logger("coko.files")
ACTOR_NAME, QUEUE_NAME = "files.cover_fetch", "files"  # tasks.cover_fetch_job

#: deep, readable backgrounds (white text on each passes WCAG AA for large text)
PALETTE = ((31, 94, 78), (122, 44, 36), (36, 59, 107), (92, 52, 96), (140, 82, 20), (24, 90, 110),
           (86, 96, 40), (110, 40, 70))
SIZE = (600, 900)
MARK = "Coko · generated cover"
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu",)


@lru_cache(maxsize=8)
def _font(size: int, bold: bool = False):
    from PIL import ImageFont

    name = "DejaVuSerif-Bold.ttf" if bold else "DejaVuSans.ttf"
    for directory in FONT_DIRS:
        try:
            return ImageFont.truetype(f"{directory}/{name}", size)
        except OSError:
            continue
    return ImageFont.load_default(size=size)  # Pillow's own (FreeType) font


def cover_colour(key: str) -> tuple[int, int, int]:
    """The background of a book's generated cover: a palette colour chosen by ``key``."""
    return PALETTE[int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") % len(PALETTE)]


def _lines(draw, text: str, font, width: int, max_lines: int) -> list[str]:
    for chars in range(28, 7, -2):
        lines = textwrap.wrap(text, chars) or [""]
        if all(draw.textlength(line, font=font) <= width for line in lines):
            break
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(" ,.;:") + "…"
    return lines


def cover_generate(*, key: str, title: str, authors: tuple[str, ...] | list[str]) -> bytes:
    """A PNG cover: ``title`` and ``authors`` on a colour chosen by ``key``, marked as generated."""
    from PIL import Image, ImageDraw

    width, height = SIZE
    background = cover_colour(key)
    image = Image.new("RGB", SIZE, background)
    draw = ImageDraw.Draw(image)
    accent = (236, 190, 60)
    draw.rectangle((24, 24, width - 25, height - 25), outline=accent, width=4)
    title_font, author_font, mark_font = _font(54, bold=True), _font(30), _font(18)
    y = 150
    for line in _lines(draw, title, title_font, width - 120, 6):
        draw.text((width // 2, y), line, font=title_font, fill=(255, 255, 255), anchor="ma")
        y += 66
    draw.line((width // 2 - 60, y + 24, width // 2 + 60, y + 24), fill=accent, width=3)
    y += 60
    for line in _lines(draw, ", ".join(authors), author_font, width - 120, 3):
        draw.text((width // 2, y), line, font=author_font, fill=(245, 240, 225), anchor="ma")
        y += 40
    draw.text((width // 2, height - 60), MARK, font=mark_font, fill=accent, anchor="ma")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def cover_generated_set(*, book: BookSummary) -> bool:
    """Draw, store and set a generated cover for ``book`` unless it has a cover by now."""
    data = cover_generate(key=book.id, title=book.title, authors=book.authors)
    stored = services.object_store(fp=io.BytesIO(data), user_id=None, filename=f"{book.id}-cover.png",
                                   kinds=("image",))
    cover = Cover(file_id=str(stored.object.id), urls=services.cover_urls(object_id=stored.object.id),
                  generated=True)
    return catalog_api.book_cover_set_trusted(book_id=book.id, cover=cover, replace=False)


# --- fetching an imported book's cover -------------------------------------------------------------
class CoverFetchRetry(Exception):
    """A failure worth trying again later (network, timeout, 429, 5xx): the actor retries."""


RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def _download(url: str, *, limit: int, timeout: float) -> bytes:
    """The body of ``url`` if it is an image of at most ``limit`` bytes; ``ValueError`` (final)
    or ``CoverFetchRetry`` otherwise."""
    import httpx

    try:
        with outbound.http_client(timeout=timeout) as client, client.stream("GET", url) as response:
            if response.status_code in RETRY_STATUSES:
                raise CoverFetchRetry(f"HTTP {response.status_code}")
            if response.status_code != 200:
                raise ValueError(f"HTTP {response.status_code}")
            media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            if not media_type.startswith("image/"):
                raise ValueError(f"not an image ({media_type or 'no content type'})")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise ValueError(f"{declared} bytes, over {limit}")
            body = bytearray()
            for chunk in response.iter_bytes(1 << 16):
                body += chunk
                if len(body) > limit:
                    raise ValueError(f"over {limit} bytes")
            return bytes(body)
    except outbound.OutboundRefused as exc:
        raise ValueError(str(exc)) from exc
    except httpx.HTTPError as exc:  # connect errors, timeouts, a broken stream
        raise CoverFetchRetry(f"{type(exc).__name__}: {exc}") from exc


def cover_fetch(*, book_id: str) -> bool:
    """Fetch a book's cover from its source into storage and set it; whether it was set.

    Nothing to do (no source, or a real cover already) is ``False``. A final failure (not an
    image, too large, refused address, 404 …) drops the source — the book keeps no cover or
    its generated one — and is ``False``; a passing one raises ``CoverFetchRetry``.
    """
    url = catalog_api.book_cover_source(book_id=str(book_id))
    if not url:
        return False
    cfg = settings.COKO_FILES
    try:
        data = _download(url, limit=cfg["COVER_FETCH_MAX_BYTES"], timeout=cfg["COVER_FETCH_TIMEOUT_S"])
        stored = services.object_store(fp=io.BytesIO(data), user_id=None, filename=f"{book_id}-cover",
                                       kinds=("image",))
    except (ValueError, DomainError) as exc:
        log.warning("cover fetch refused", book_id=str(book_id), reason=str(exc)[:200])
        catalog_api.book_cover_source_drop(book_id=str(book_id))
        return False
    cover = Cover(file_id=str(stored.object.id), urls=services.cover_urls(object_id=stored.object.id))
    catalog_api.book_cover_set_trusted(book_id=str(book_id), cover=cover)
    log.info("cover fetched", book_id=str(book_id), object_id=str(stored.object.id))
    return True


def cover_fetches_enqueue(*, limit: int) -> int:
    """Queue the cover fetch of at most ``limit`` books with a cover source, most popular
    first (bounded: a new install does not fetch ten thousand covers at start-up)."""
    import dramatiq

    broker = dramatiq.get_broker()
    book_ids = catalog_api.books_with_cover_source(limit=limit)
    for book_id in book_ids:
        broker.enqueue(dramatiq.Message(queue_name=QUEUE_NAME, actor_name=ACTOR_NAME, args=(book_id,), kwargs={},
                                        options={}))
    return len(book_ids)
