"""EPUB soundness: the zip archive (bombs, unsafe paths, duplicates, encryption), the
``mimetype`` file, the container, the OPF package and its navigation documents, parsed as
untrusted XML under bounds.

Bounds (``settings.COKO_FILES``): every entry's compression ratio (whatever its size), the
archive's total uncompressed size, and for each XML file parsed here (container, OPF, nav,
NCX) its size, refused from the zip directory before a byte of it is read
(``EPUB_MAX_XML_BYTES``), and its element count, counted while it is parsed so a package of
millions of elements is refused after ``EPUB_MAX_XML_ELEMENTS`` of them are built, never all.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from typing import BinaryIO
from urllib.parse import unquote

from django.conf import settings
from lxml import etree

from .. import errors
from ..errors import file_invalid

EPUB_MEDIA_TYPE = "application/epub+zip"
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
OPF_NS = "http://www.idpf.org/2007/opf"
OPF_MEDIA_TYPE = "application/oebps-package+xml"
NCX_MEDIA_TYPE = "application/x-dtbncx+xml"
CONTAINER_PATH = "META-INF/container.xml"
XML_FEED_BYTES = 64 * 1024


# --- safe XML -----------------------------------------------------------------------------------
class XmlTooManyElements(ValueError):
    """More elements than the configured cap: parsing stopped there."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} elements")
        self.limit = limit


def xml_parse(data: bytes, *, max_elements: int | None = None):
    """Parse XML with no entity expansion, no DTD loading and no network; refuse entity
    declarations outright (billion laughs, external entities). Counts elements as they are
    parsed (fed in 64 KiB pieces) and stops past ``max_elements`` (default
    ``COKO_FILES["EPUB_MAX_XML_ELEMENTS"]``) with ``XmlTooManyElements``. Raises ``ValueError``."""
    limit = max_elements if max_elements is not None else settings.COKO_FILES["EPUB_MAX_XML_ELEMENTS"]
    parser = etree.XMLPullParser(events=("start",), resolve_entities=False, no_network=True, load_dtd=False,
                                 dtd_validation=False, huge_tree=False, remove_pis=True)
    count = 0
    try:
        for start in range(0, len(data), XML_FEED_BYTES):
            parser.feed(data[start:start + XML_FEED_BYTES])
            for _event in parser.read_events():
                count += 1
                if count > limit:
                    raise XmlTooManyElements(limit)
        root = parser.close()
    except etree.XMLSyntaxError as exc:
        raise ValueError(str(exc)) from None
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _entity in dtd.iterentities()):
        raise ValueError("entity declarations are not allowed")
    return root


def xml_entry_read(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """An XML entry's bytes, refused (``epub_xml_too_large``) from its declared size before it
    is read, and never more than the cap read whatever the zip directory claims."""
    limit = settings.COKO_FILES["EPUB_MAX_XML_BYTES"]
    if info.file_size > limit:
        raise file_invalid(errors.EPUB_XML_TOO_LARGE, entry=info.filename, size=info.file_size, limit=limit)
    with zf.open(info) as entry:
        data = entry.read(limit + 1)
    if len(data) > limit:
        raise file_invalid(errors.EPUB_XML_TOO_LARGE, entry=info.filename, size=None, limit=limit)
    return data


def _xml_entry_parse(zf: zipfile.ZipFile, info: zipfile.ZipInfo, invalid: errors.Reason, **context):
    data = xml_entry_read(zf, info)
    try:
        return xml_parse(data)
    except XmlTooManyElements as exc:
        raise file_invalid(errors.EPUB_XML_TOO_MANY_ELEMENTS, entry=info.filename, limit=exc.limit) from None
    except ValueError as exc:
        raise file_invalid(invalid, error=str(exc)[:200], **context) from None


# --- the archive and its container -----------------------------------------------------------------------------------------
def _entry_name_unsafe(name: str) -> bool:
    if not name or "\\" in name or "\x00" in name or name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return True
    return any(part == ".." for part in name.split("/"))


def epub_check(fp: BinaryIO) -> str:
    """Check an EPUB's zip and container; return the OPF's path inside the zip."""
    cfg = settings.COKO_FILES
    fp.seek(0)
    try:
        zf = zipfile.ZipFile(fp)
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise file_invalid(errors.EPUB_NOT_A_ZIP) from None
    if len(infos) > cfg["EPUB_MAX_ENTRIES"]:
        raise file_invalid(errors.EPUB_TOO_MANY_ENTRIES, entries=len(infos), limit=cfg["EPUB_MAX_ENTRIES"])
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.filename
        if _entry_name_unsafe(name):
            raise file_invalid(errors.EPUB_PATH_TRAVERSAL, entry=name)
        if name in seen:
            raise file_invalid(errors.EPUB_DUPLICATE_ENTRY, entry=name)
        seen.add(name)
        if info.flag_bits & 0x1:
            raise file_invalid(errors.EPUB_ENCRYPTED_ENTRY, entry=name)
        total += info.file_size
        # every entry, whatever its size: thousands of small bombs add up
        ratio = info.file_size / max(info.compress_size, 1)
        if ratio > cfg["EPUB_MAX_RATIO"]:
            raise file_invalid(errors.EPUB_ZIP_BOMB, entry=name, ratio=round(ratio, 1),
                               max_ratio=cfg["EPUB_MAX_RATIO"])
    if total > cfg["EPUB_MAX_UNCOMPRESSED_BYTES"]:
        raise file_invalid(errors.EPUB_ZIP_BOMB, uncompressed_size=total,
                           limit=cfg["EPUB_MAX_UNCOMPRESSED_BYTES"])
    try:
        return _epub_container_check(zf, infos)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError):
        raise file_invalid(errors.EPUB_CORRUPT) from None


def _epub_container_check(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> str:
    first = infos[0] if infos else None
    if first is None or first.filename != "mimetype":
        raise file_invalid(errors.EPUB_MIMETYPE_MISSING, first_entry=first.filename if first else None)
    if first.file_size > 64 or zf.read(first).strip() != EPUB_MEDIA_TYPE.encode():
        raise file_invalid(errors.EPUB_MIMETYPE_INVALID)
    by_name = {info.filename: info for info in infos}
    if CONTAINER_PATH not in by_name:
        raise file_invalid(errors.EPUB_CONTAINER_MISSING)
    container = _xml_entry_parse(zf, by_name[CONTAINER_PATH], errors.EPUB_CONTAINER_INVALID)
    rootfiles = list(container.iter(f"{{{CONTAINER_NS}}}rootfile"))
    if len(rootfiles) > 1:  # readers disagree on which one counts: only one is checked and read
        raise file_invalid(errors.EPUB_ROOTFILE_MULTIPLE, count=len(rootfiles))
    rootfile = None
    if rootfiles and rootfiles[0].get("media-type") == OPF_MEDIA_TYPE and rootfiles[0].get("full-path"):
        rootfile = rootfiles[0].get("full-path")
    if rootfile is None:
        raise file_invalid(errors.EPUB_ROOTFILE_MISSING)
    if _entry_name_unsafe(rootfile):
        raise file_invalid(errors.EPUB_PATH_TRAVERSAL, entry=rootfile)
    if rootfile not in by_name:
        raise file_invalid(errors.EPUB_OPF_MISSING, path=rootfile)
    opf = _xml_entry_parse(zf, by_name[rootfile], errors.EPUB_OPF_INVALID, path=rootfile)
    if opf.tag != f"{{{OPF_NS}}}package" or opf.find(f"{{{OPF_NS}}}metadata") is None:
        raise file_invalid(errors.EPUB_OPF_INVALID, path=rootfile)
    for path in navigation_paths(opf, rootfile):
        if path in by_name:  # a missing one is the reader's problem (epub_unreadable)
            _xml_entry_parse(zf, by_name[path], errors.EPUB_NAV_INVALID, entry=path)
    return rootfile


def navigation_paths(opf, opf_path: str) -> list[str]:
    """Zip paths of the OPF's navigation documents (EPUB 3 nav, EPUB 2 NCX): the XML files a
    reader parses besides the container and the OPF."""
    manifest = opf.find(f"{{{OPF_NS}}}manifest")
    if manifest is None:
        return []
    paths = []
    for item in manifest.iter(f"{{{OPF_NS}}}item"):
        href = item.get("href")
        is_nav = "nav" in (item.get("properties") or "").split()
        if href and (is_nav or item.get("media-type") == NCX_MEDIA_TYPE):
            paths.append(posixpath.normpath(posixpath.join(posixpath.dirname(opf_path), unquote(href))))
    return paths
