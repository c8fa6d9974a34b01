"""EPUB soundness: the zip archive (bombs, unsafe paths, duplicates, encryption), the
``mimetype`` file, the container and the OPF package, parsed as untrusted XML."""

from __future__ import annotations

import re
import zipfile
from typing import BinaryIO

from django.conf import settings
from lxml import etree

from .. import errors
from ..errors import file_invalid

EPUB_MEDIA_TYPE = "application/epub+zip"
CONTAINER_NS = "urn:oasis:names:tc:opendocument:xmlns:container"
OPF_NS = "http://www.idpf.org/2007/opf"
OPF_MEDIA_TYPE = "application/oebps-package+xml"
# An entry smaller than this cannot be a bomb whatever its ratio (markup compresses well).
RATIO_MIN_ENTRY_BYTES = 64 * 1024


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
        if info.file_size >= RATIO_MIN_ENTRY_BYTES:
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
    names = {info.filename for info in infos}
    if "META-INF/container.xml" not in names:
        raise file_invalid(errors.EPUB_CONTAINER_MISSING)
    try:
        container = xml_parse(zf.read("META-INF/container.xml"))
    except ValueError as exc:
        raise file_invalid(errors.EPUB_CONTAINER_INVALID, error=str(exc)[:200]) from None
    rootfile = None
    for element in container.iter(f"{{{CONTAINER_NS}}}rootfile"):
        if element.get("media-type") == OPF_MEDIA_TYPE and element.get("full-path"):
            rootfile = element.get("full-path")
            break
    if rootfile is None:
        raise file_invalid(errors.EPUB_ROOTFILE_MISSING)
    if _entry_name_unsafe(rootfile):
        raise file_invalid(errors.EPUB_PATH_TRAVERSAL, entry=rootfile)
    if rootfile not in names:
        raise file_invalid(errors.EPUB_OPF_MISSING, path=rootfile)
    try:
        opf = xml_parse(zf.read(rootfile))
    except ValueError as exc:
        raise file_invalid(errors.EPUB_OPF_INVALID, path=rootfile, error=str(exc)[:200]) from None
    if opf.tag != f"{{{OPF_NS}}}package" or opf.find(f"{{{OPF_NS}}}metadata") is None:
        raise file_invalid(errors.EPUB_OPF_INVALID, path=rootfile)
    return rootfile


