"""What an EPUB says about itself: its OPF metadata and its cover image, read with ebooklib.

Call only on a file ``inspection.file_inspect`` accepted (zip guards passed, container and
OPF parsed safely): ebooklib then reads a bounded archive.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import BinaryIO

import ebooklib
from ebooklib import epub
from lxml import html

from coko.domains.catalog.contracts import IngestedMetadata
from coko.platform.errors import DomainError

from . import errors
from .errors import file_invalid

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


def _cover(book) -> tuple[bytes | None, str | None]:
    """EPUB 3 ``cover-image`` item, else the EPUB 2 ``<meta name="cover">``, else an image named cover."""
    for item in book.get_items_of_type(ebooklib.ITEM_COVER):
        return item.get_content(), item.get_name()
    for _text_value, attrs in _metas(book):
        if attrs.get("name") != "cover":
            continue
        item = book.get_item_with_id(attrs.get("content", ""))
        if item is not None and item.get_content():
            return item.get_content(), item.get_name()
    for item in book.get_items():
        name = (item.get_name() or "").lower()
        if item.media_type and item.media_type.startswith("image/") and "cover" in f"{item.id} {name}".lower():
            return item.get_content(), item.get_name()
    return None, None


def epub_read(fp: BinaryIO) -> EpubContent:
    """Title, authors, language, identifiers, description, publisher, date, subjects and cover."""
    fp.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = epub.read_epub(fp, options={"ignore_ncx": True})
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
        cover, cover_name = _cover(book)
        authors, published = _authors(book), _published(book)
    except DomainError:
        raise
    except Exception as exc:  # noqa: BLE001 - ebooklib on untrusted input fails in many ways
        raise file_invalid(errors.EPUB_UNREADABLE, error=f"{type(exc).__name__}: {exc}"[:200]) from None
    if not title:
        raise file_invalid(errors.EPUB_TITLE_MISSING)
    metadata = IngestedMetadata(
        title=title, authors=authors, language=language, identifiers=tuple(identifiers[:MAX_IDENTIFIERS]),
        description=description or None, publisher=publisher, published=published,
        subjects=tuple(subjects[:MAX_SUBJECTS]))
    return EpubContent(metadata=metadata, cover=cover, cover_name=cover_name)
