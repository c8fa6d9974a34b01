"""Memory and resource bounds on untrusted uploads (issue 10): each known bomb is refused with a
declared reason, nothing is stored, and the process that inspects it stays within a stated
memory bound.

The bound: inspecting (and, for an EPUB, reading for ingestion) any of these bombs raises the
peak RSS of a fresh Python process by at most ``MEMORY_BOUND_MIB`` over what it had after its
imports. The parse runs in a child process (``resource.getrusage`` maxrss only grows, so a
fresh process is the only clean measure). Before these bounds the OPF bomb, the many-entries
bomb and the 7000×7000 PNG each took hundreds of MiB there.

The bombs are built in a streaming way, on disk, so the test itself stays small.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path

import pytest

from .conftest import CONTAINER, assert_nothing_stored, epub_bytes, opf_bytes, send

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

MEMORY_BOUND_MIB = 64

OPF_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n<package xmlns="http://www.idpf.org/2007/opf" version="3.0" '
            b'unique-identifier="id0"><metadata xmlns:dc="http://purl.org/dc/elements/1.1/">'
            b'<dc:title>Bombe</dc:title><dc:identifier id="id0">x</dc:identifier>')
OPF_TAIL = (b'</metadata><manifest><item id="c" href="c.xhtml" media-type="application/xhtml+xml"/></manifest>'
            b'<spine><itemref idref="c"/></spine></package>')


def _epub_start(path: Path) -> zipfile.ZipFile:
    zf = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED)
    zf.writestr(zipfile.ZipInfo("mimetype"), b"application/epub+zip", compress_type=zipfile.ZIP_STORED)
    zf.writestr("META-INF/container.xml", CONTAINER)
    zf.writestr("OEBPS/c.xhtml", b'<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>')
    return zf


def opf_elements_bomb(path: Path, elements: int, hex_chars: int) -> Path:
    """An EPUB whose OPF holds ``elements`` ``<meta>`` elements with random values (so its
    compression ratio stays low and only the element bounds can stop it), streamed in."""
    with _epub_start(path) as zf, zf.open("OEBPS/content.opf", "w", force_zip64=True) as opf:
        opf.write(OPF_HEAD)
        batch = 10_000
        for start in range(0, elements, batch):
            count = min(batch, elements - start)
            noise = os.urandom(count * hex_chars).hex()
            opf.write(b"".join(b'<m c="%s"/>' % noise[i * hex_chars:(i + 1) * hex_chars].encode()
                               for i in range(count)))
        opf.write(OPF_TAIL)
    return path


def many_entries_bomb(path: Path, entries: int) -> Path:
    """An EPUB of ``entries`` entries of 65,535 zero bytes each (just under the size from which
    the ratio used to be checked), every one listed in the manifest so a reader loads them."""
    items = b"".join(b'<item id="b%d" href="b%d.xhtml" media-type="application/xhtml+xml"/>' % (i, i)
                     for i in range(entries))
    opf = OPF_HEAD + b"</metadata><manifest>" + items + b"</manifest><spine><itemref idref=\"b0\"/></spine></package>"
    zero = bytes(65_535)
    with _epub_start(path) as zf:
        zf.writestr("OEBPS/content.opf", opf)
        for i in range(entries):
            zf.writestr(f"OEBPS/b{i}.xhtml", zero)
    return path


def png_bomb(path: Path, width: int = 7000, height: int = 7000) -> Path:
    """An RGB PNG of ``width``×``height`` black pixels, compressed row by row."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = bytes(1 + width * 3)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


CHILD = """
import json, os, resource, sys
import django
django.setup()
from coko.domains.files.epub import epub_read
from coko.domains.files.inspection import file_inspect
from coko.platform.errors import DomainError
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
reason = None
with open(sys.argv[1], "rb") as fp:
    try:
        inspected = file_inspect(fp=fp)
        if inspected.kind == "epub":
            epub_read(fp)
    except DomainError as exc:
        reason = (exc.details or {}).get("reason", exc.code)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.stdout.write(json.dumps({"reason": reason, "grown_kib": after - before}))
"""


def inspected_in_a_fresh_process(path: Path) -> tuple[str | None, float]:
    """The refusal reason and how much the peak RSS grew (MiB) while one process inspected ``path``."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["reason"], result["grown_kib"] / 1024


@pytest.mark.parametrize(("bomb", "build", "path", "reason"), [
    # 2,000,000 elements (~30 MB of XML, ~7 MB compressed): refused from the zip directory
    ("opf_millions_of_elements", lambda p: opf_elements_bomb(p, 2_000_000, 6), "/files/ingest",
     "epub_xml_too_large"),
    # 300,000 elements in 3.6 MB (under the byte cap): stopped at the element cap
    ("opf_elements_under_the_byte_cap", lambda p: opf_elements_bomb(p, 300_000, 2), "/files/ingest",
     "epub_xml_too_many_elements"),
    # 4,000 entries of 64 KiB - 1 zeros: 256 MiB that ebooklib would load
    ("thousands_of_small_entries", lambda p: many_entries_bomb(p, 4000), "/files/ingest", "epub_zip_bomb"),
    # 49 Mpx, under the pixel limit, 187 MiB once decoded
    ("png_7000x7000", png_bomb, "/files/uploads", "image_too_large_to_decode"),
])
def test_each_known_bomb_is_refused_within_the_memory_bound(author, media, tmp_path, bomb, build, path, reason):
    """Attack: an upload built to exhaust the worker's memory while it is checked."""
    file = build(tmp_path / bomb)
    refused, grown_mib = inspected_in_a_fresh_process(file)
    assert refused == reason
    assert grown_mib <= MEMORY_BOUND_MIB, f"{bomb}: peak RSS grew {grown_mib:.0f} MiB"
    response = send(author, path, file.read_bytes(), name=bomb)
    assert response.status_code == 422, response.data
    assert response.data["error"]["code"] == "file_invalid"
    assert response.data["error"]["details"]["reason"] == reason
    assert_nothing_stored(media)


def test_more_than_one_rootfile_is_refused(author, media):
    """Attack: a second package the checks skip but a reader picks (ebooklib takes the last)."""
    container = CONTAINER.replace(b"</rootfiles>", b'<rootfile full-path="OEBPS/other.opf" '
                                                   b'media-type="application/oebps-package+xml"/></rootfiles>')
    response = send(author, "/files/ingest", epub_bytes(container=container, extra={"OEBPS/other.opf": opf_bytes()}),
                    name="two.epub")
    assert response.status_code == 422
    assert response.data["error"]["details"] == {
        "reason": "epub_rootfile_multiple", "count": 2,
        "explanation": response.data["error"]["details"]["explanation"]}
    assert_nothing_stored(media)


def test_a_navigation_document_is_bounded_like_the_package(author, media, settings):
    """Attack: an oversized or broken nav document, parsed by the reader at ingestion."""
    settings.COKO_FILES = {**settings.COKO_FILES, "EPUB_MAX_XML_ELEMENTS": 100}
    nav = b'<html xmlns="http://www.w3.org/1999/xhtml"><body><nav><ol>' + b"<li>x</li>" * 200 + b"</ol></nav></body></html>"
    data = epub_bytes()
    rebuilt = _replace_entry(data, "OEBPS/nav.xhtml", nav)
    response = send(author, "/files/ingest", rebuilt, name="nav.epub")
    assert response.status_code == 422
    assert response.data["error"]["details"]["reason"] == "epub_xml_too_many_elements"
    assert response.data["error"]["details"]["entry"] == "OEBPS/nav.xhtml"
    broken = send(author, "/files/ingest", _replace_entry(data, "OEBPS/nav.xhtml", b"<html><body>"), name="nav.epub")
    assert broken.status_code == 422
    assert broken.data["error"]["details"]["reason"] == "epub_nav_invalid"
    assert_nothing_stored(media)


def _replace_entry(data: bytes, name: str, content: bytes) -> bytes:
    import io

    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in source.infolist():
            zf.writestr(info, content if info.filename == name else source.read(info))
    return out.getvalue()


def test_a_large_photo_is_decoded_reduced_not_refused(author, media):
    """A 6000×8000 JPEG (48 Mpx, 183 MiB at full size) is decoded at 1/8 scale: accepted."""
    from PIL import Image

    import io
    buffer = io.BytesIO()
    Image.new("RGB", (6000, 8000), (200, 120, 40)).save(buffer, format="JPEG", quality=50)
    response = send(author, "/files/uploads", buffer.getvalue(), name="photo.jpg")
    assert response.status_code == 201, response.data
    assert (response.data["width"], response.data["height"]) == (6000, 8000)
