"""What an EPUB says about itself: its OPF metadata and its cover image, read with ebooklib.

Call only on a file ``inspection.file_inspect`` accepted (zip guards passed, container, OPF
and navigation parsed safely under their size and element caps). ebooklib's reader would load
every manifest item into memory; ``_BoundedReader`` gives it the bytes of the container, the
OPF and the navigation documents only (each already bounded by ``EPUB_MAX_XML_BYTES``), and
the cover is read on its own under the image size limit: ingestion reads at most
``COKO_FILES["EPUB_READ_MAX_BYTES"]`` of the archive in all.
"""

from __future__ import annotations

import posixpath
import re
import warnings
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

import ebooklib
from ebooklib import epub
from django.conf import settings
from lxml import html

from coko.domains.catalog.contracts import IngestedMetadata
from coko.platform.errors import DomainError

from . import errors
from .errors import file_invalid
from .inspection.epub import CONTAINER_PATH, navigation_paths

DC = epub.NAMESPACES["DC"]
OPF = epub.NAMESPACES["OPF"]
OPF_ATTR = f"{{{OPF}}}"
MAX_AUTHORS, MAX_SUBJECTS, MAX_IDENTIFIERS = 20, 50, 20
ISBN = re.compile(r"(?:97[89])?\d{9}[\dXx]")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class EpubContent:
    metadata: IngestedMetadata
    cover: bytes | None  # the cover image's bytes, as stored in the EPUB (not yet checked)
    cover_name: str | None


def _text(value, limit: int) -> str:
    return " ".join(str(value or "").split())[:limit]


def _values(book, namespace: str, name) -> list[tuple[str | None, dict]]:
    return book.metadata.get(namespace, {}).get(name, [])


def _metas(book) -> list[tuple[str | None, dict]]:
    """Every OPF ``<meta>`` (ebooklib files them under "meta", or under None / their name)."""
    found = _values(book, OPF, "meta") + _values(book, OPF, None)
    found += [(text, {"name": "cover", **attrs}) for text, attrs in _values(book, OPF, "cover")]
    return found


def _refines(book, prop: str) -> dict[str, str]:
    """EPUB 3 ``<meta refines="#id" property=prop>value</meta>``: id → value."""
    return {attrs.get("refines", "").lstrip("#"): (text or "").strip()
            for text, attrs in _metas(book) if attrs.get("property") == prop and attrs.get("refines")}


def _plain(description: str) -> str:
    """Descriptions often carry HTML: keep the text only."""
    if "<" in description:
        try:
            description = html.fromstring(f"<div>{description}</div>").text_content()
        except (ValueError, TypeError):
            pass
    return "\n".join(" ".join(line.split()) for line in description.strip().splitlines() if line.strip())[:10000]


def _identifier(value: str, attrs: dict, refined: dict[str, str]) -> tuple[str, str] | None:
    value = value.strip()
    if not value:
        return None
    scheme = (attrs.get(f"{OPF_ATTR}scheme") or attrs.get("scheme") or refined.get(attrs.get("id", ""), "")).lower()
    lowered = value.lower()
    for prefix, name in (("urn:isbn:", "isbn"), ("isbn:", "isbn"), ("urn:uuid:", "uuid"), ("urn:doi:", "doi"),
                         ("doi:", "doi")):
        if lowered.startswith(prefix):
            scheme, value = name, value[len(prefix):].strip()
            break
    compact = re.sub(r"[\s-]", "", value)
    if scheme in {"isbn", "15"} or (not scheme and ISBN.fullmatch(compact)):
        return ("isbn", compact.upper()) if ISBN.fullmatch(compact) else ("isbn", value)
    if not scheme and UUID.fullmatch(value):
        scheme = "uuid"
    return (scheme or "other")[:32], value[:255]


def _authors(book) -> tuple[str, ...]:
    """Creators whose role is the author's (or who have no role); EPUB 2 and EPUB 3 roles."""
    roles = {key: value.lower() for key, value in _refines(book, "role").items()}
    authors = []
    for name, attrs in _values(book, DC, "creator"):
        role = (attrs.get(f"{OPF_ATTR}role") or roles.get(attrs.get("id", ""), "")).lower()
        if name and role in {"", "aut"} and _text(name, 255) not in authors:
            authors.append(_text(name, 255))
    return tuple(authors[:MAX_AUTHORS])


def _published(book) -> str | None:
    dates = _values(book, DC, "date")
    for value, attrs in dates:
        if (attrs.get(f"{OPF_ATTR}event") or "").lower() == "publication" and value:
            return _text(value, 32)
    return _text(dates[0][0], 32) or None if dates else None


class _BoundedReader(epub.EpubReader):
    """ebooklib's reader, given the real bytes of the XML files it parses (container, OPF,
    nav, NCX) and an empty body for every other item; the cover is read apart (``content_of``).
    Counts what it reads against ``EPUB_READ_MAX_BYTES``."""

    def __init__(self, fp: BinaryIO) -> None:
        super().__init__(fp, {"ignore_ncx": True})
        self.read_bytes = 0
        self._xml_paths: set[str] | None = None

    def _count(self, info: zipfile.ZipInfo) -> None:
        limit = settings.COKO_FILES["EPUB_READ_MAX_BYTES"]
        self.read_bytes += info.file_size
        if self.read_bytes > limit:
            raise file_invalid(errors.EPUB_TOO_LARGE_TO_READ, size=self.read_bytes, limit=limit)

    def _parsed_paths(self) -> set[str]:
        paths = {CONTAINER_PATH}
        if self.opf_file:
            paths.add(posixpath.normpath(self.opf_file))
        if getattr(self, "container", None) is not None:  # the OPF, once ebooklib parsed it
            if self._xml_paths is None:
                self._xml_paths = set(navigation_paths(self.container, self.opf_file))
            paths |= self._xml_paths
        return paths

    def read_file(self, name):
        name = posixpath.normpath(name)
        info = self.zf.getinfo(name)  # KeyError, as ebooklib expects
        if name not in self._parsed_paths():
            return b""
        self._count(info)
        return self.zf.read(info)

    def content_of(self, item) -> bytes:
        """An item's real bytes (the cover), counted, and refused past the image size limit."""
        name = posixpath.normpath(posixpath.join(self.opf_dir, item.get_name()))
        info = self.zf.getinfo(name)
        limit = settings.COKO_FILES["MAX_BYTES"]["image"]
        if info.file_size > limit:
            too_large = errors.file_too_large(size=info.file_size, limit=limit, kind="image")
            raise file_invalid(errors.EPUB_COVER_INVALID, entry=name,
                               cover={"code": too_large.code, **too_large.details})
        self._count(info)
        with self.zf.open(info) as entry:
            return entry.read(limit)

    def _load(self):
        self.zf = zipfile.ZipFile(self.file_name, "r")
        self._load_container()
        self._load_opf_file()  # the zip stays open for the cover


def _cover(book, reader: _BoundedReader) -> tuple[bytes | None, str | None]:
    """EPUB 3 ``cover-image`` item, else the EPUB 2 ``<meta name="cover">``, else an image named cover."""
    for item in book.get_items_of_type(ebooklib.ITEM_COVER):
        return reader.content_of(item), item.get_name()
    for _text_value, attrs in _metas(book):
        if attrs.get("name") != "cover":
            continue
        item = book.get_item_with_id(attrs.get("content", ""))
        if item is not None:
            content = reader.content_of(item)
            if content:
                return content, item.get_name()
    for item in book.get_items():
        name = (item.get_name() or "").lower()
        if item.media_type and item.media_type.startswith("image/") and "cover" in f"{item.id} {name}".lower():
            return reader.content_of(item), item.get_name()
    return None, None


def epub_read(fp: BinaryIO) -> EpubContent:
    """Title, authors, language, identifiers, description, publisher, date, subjects and cover."""
    fp.seek(0)
    reader = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = _BoundedReader(fp)
            book = reader.load()
        refined = _refines(book, "identifier-type")
        title = next((_text(value, 500) for value, _attrs in _values(book, DC, "title") if _text(value, 500)), "")
        identifiers = []
        for value, attrs in _values(book, DC, "identifier"):
            found = _identifier(value or "", attrs, refined)
            if found and found not in identifiers:
                identifiers.append(found)
        language = next((_text(v, 35) for v, _a in _values(book, DC, "language") if _text(v, 35)), None)
        description = next((_plain(v) for v, _a in _values(book, DC, "description") if v and v.strip()), None)
        publisher = next((_text(v, 255) for v, _a in _values(book, DC, "publisher") if _text(v, 255)), None)
        subjects = []
        for value, _attrs in _values(book, DC, "subject"):
            if _text(value, 100) and _text(value, 100) not in subjects:
                subjects.append(_text(value, 100))
        cover, cover_name = _cover(book, reader)
        authors, published = _authors(book), _published(book)
    except DomainError:
        raise
    except Exception as exc:  # noqa: BLE001 - ebooklib on untrusted input fails in many ways
        raise file_invalid(errors.EPUB_UNREADABLE, error=f"{type(exc).__name__}: {exc}"[:200]) from None
    finally:
        if reader is not None and reader.zf is not None:
            reader.zf.close()
    if not title:
        raise file_invalid(errors.EPUB_TITLE_MISSING)
    metadata = IngestedMetadata(
        title=title, authors=authors, language=language, identifiers=tuple(identifiers[:MAX_IDENTIFIERS]),
        description=description or None, publisher=publisher, published=published,
        subjects=tuple(subjects[:MAX_SUBJECTS]))
    return EpubContent(metadata=metadata, cover=cover, cover_name=cover_name)
