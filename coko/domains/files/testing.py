"""Files for other domains' tests: real EPUBs, PDFs, images and audio built in memory, and
the calls that upload them through the API, as a client does.

Other domains' tests import this module, never files' services or models::

    from coko.domains.files.testing import epub_attached, epub_bytes

    author = user_with_roles("author")
    epub_attached(author, book_id=book["id"])         # the book now has an EPUB to download
    epub_bytes(title="Sundiata", cover=None)          # or the bytes, to send yourself

Everything here is valid unless asked otherwise: each builder takes the part to break or
leave out (``epub_bytes(mimetype=None)``, ``opf_bytes(title=None)`` …).
"""

from __future__ import annotations

import io
import struct
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from coko.devtools.testing.api import Api


# --- sending a file -----------------------------------------------------------------------------------
def send(api: Api, path: str, data: bytes | None, *, name: str = "upload.bin", **fields):
    """POST a multipart form with ``file`` (when ``data`` is given) and other fields."""
    form = {key: str(value) for key, value in fields.items()}
    if data is not None:
        form["file"] = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    response = api.client.post(f"/api/v1{path}", data=form, **api._headers(None))
    response.data = response.json() if response.get("Content-Type", "").startswith("application/json") else None
    return response


# --- files the tests build ------------------------------------------------------------------------------
def image_bytes(width: int = 600, height: int = 900, fmt: str = "JPEG", *, orientation: int | None = None,
                mode: str = "RGB") -> bytes:
    """An image with a visible gradient (so it is not trivially compressible)."""
    image = Image.new(mode, (width, height))
    if mode == "RGB":
        image.putdata([((x * 7) % 256, (y * 5) % 256, (x + y) % 256) for y in range(height) for x in range(width)])
    buffer = io.BytesIO()
    kwargs = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def pdf_bytes(text: str = "Coko") -> bytes:
    """A small, well-formed PDF (one page)."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    out.write(f"% {text}\n".encode())
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def mp3_bytes(frames: int = 5, *, id3: bool = True) -> bytes:
    """MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz: 417 bytes each), after an ID3v2.4 tag."""
    frame = b"\xff\xfb\x90\x64" + b"\x00" * 413
    tag = b""
    if id3:
        body = b"TIT2" + struct.pack(">I", 6) + b"\x00\x00" + b"\x03Kora"
        tag = b"ID3\x04\x00\x00" + bytes([0, 0, 0, len(body)]) + body
    return tag + frame * frames


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(*, brand: bytes = b"M4B ", handler: bytes = b"soun",
              compatible: tuple[bytes, ...] = (b"isom",)) -> bytes:
    """An ISO base media file: ftyp, then moov/trak/mdia/hdlr naming the track's handler."""
    hdlr = _box(b"hdlr", b"\x00" * 4 + b"\x00" * 4 + handler + b"\x00" * 12 + b"Sound\x00")
    moov = _box(b"moov", _box(b"trak", _box(b"mdia", hdlr)))
    ftyp = _box(b"ftyp", brand + b"\x00\x00\x02\x00" + brand + b"".join(compatible))
    return ftyp + moov + _box(b"mdat", b"\x00" * 64)


def ogg_opus_bytes() -> bytes:
    """The first page of an Ogg Opus stream (beginning-of-stream flag, OpusHead packet)."""
    packet = b"OpusHead" + bytes([1, 2]) + struct.pack("<HIhB", 312, 48000, 0, 0)
    header = b"OggS" + bytes([0, 0x02]) + struct.pack("<qIII", 0, 1, 0, 0) + bytes([1, len(packet)])
    return header + packet + b"\x00" * 32


CONTAINER = b"""<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>"""

CHAPTER = """<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>I</title></head>
<body><h1>I</h1><p>{text}</p></body></html>"""

NAV = b"""<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops"><head><title>Nav</title></head>
<body><nav epub:type="toc" id="toc"><ol><li><a href="chapter1.xhtml">I</a></li></ol></nav></body></html>"""

NCX = b"""<?xml version="1.0" encoding="UTF-8"?>
<ncx xmlns="http://www.daisy.org/z3986/2005/ncx/" version="2005-1"><head/><docTitle><text>T</text></docTitle>
<navMap><navPoint id="n1" playOrder="1"><navLabel><text>I</text></navLabel><content src="chapter1.xhtml"/></navPoint>
</navMap></ncx>"""


def opf_bytes(*, version: int = 3, title: str | None = "Une si longue lettre", authors=("Mariama Bâ",),
              illustrator: str | None = "Aïssatou Diop", language: str = "fr",
              identifiers=(("isbn", "978-2-7236-0466-6"), ("uuid", "urn:uuid:0b9a9bb4-8c1b-4f59-9e3c-9a1f1b2f7c11")),
              description: str = "<p>Une lettre de <b>Ramatoulaye</b> à son amie.</p>",
              publisher: str = "Nouvelles Éditions Africaines", date: str = "1979-01-01",
              subjects=("Roman", "Littérature sénégalaise"), cover: str | None = "cover.jpg",
              cover_media_type: str = "image/jpeg", cover_id: str = "cover-image") -> bytes:
    """An OPF package: Dublin Core metadata, manifest (chapter, nav/ncx, cover) and spine."""
    from xml.sax.saxutils import escape

    meta = []
    if title is not None:
        meta.append(f"<dc:title>{escape(title)}</dc:title>")
    for index, name in enumerate(authors):
        if version == 3:
            meta.append(f'<dc:creator id="creator{index}">{escape(name)}</dc:creator>'
                        f'<meta refines="#creator{index}" property="role" scheme="marc:relators">aut</meta>')
        else:
            meta.append(f'<dc:creator opf:role="aut">{escape(name)}</dc:creator>')
    if illustrator:
        if version == 3:
            meta.append(f'<dc:creator id="ill">{escape(illustrator)}</dc:creator>'
                        '<meta refines="#ill" property="role" scheme="marc:relators">ill</meta>')
        else:
            meta.append(f'<dc:creator opf:role="ill">{escape(illustrator)}</dc:creator>')
    meta.append(f"<dc:language>{language}</dc:language>")
    for index, (scheme, value) in enumerate(identifiers):
        attrs = f'id="id{index}"' + (f' opf:scheme="{scheme.upper()}"' if version == 2 else "")
        meta.append(f"<dc:identifier {attrs}>{escape(value)}</dc:identifier>")
    meta.append(f"<dc:description>{escape(description)}</dc:description>")
    meta.append(f"<dc:publisher>{escape(publisher)}</dc:publisher>")
    meta.append(f"<dc:date>{date}</dc:date>")
    meta.extend(f"<dc:subject>{escape(s)}</dc:subject>" for s in subjects)
    manifest = ['<item id="chapter1" href="chapter1.xhtml" media-type="application/xhtml+xml"/>']
    if version == 3:
        manifest.append('<item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>')
        meta.append('<meta property="dcterms:modified">2024-01-01T00:00:00Z</meta>')
    else:
        manifest.append('<item id="ncx" href="toc.ncx" media-type="application/x-dtbncx+xml"/>')
    if cover:
        props = ' properties="cover-image"' if version == 3 else ""
        manifest.append(f'<item id="{cover_id}" href="{cover}" media-type="{cover_media_type}"{props}/>')
        if version == 2:
            meta.append(f'<meta name="cover" content="{cover_id}"/>')
    spine = '<spine toc="ncx">' if version == 2 else "<spine>"
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<package xmlns="http://www.idpf.org/2007/opf" version="{version}.0" unique-identifier="id0">'
            f'<metadata xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:opf="http://www.idpf.org/2007/opf">'
            f'{"".join(meta)}</metadata><manifest>{"".join(manifest)}</manifest>'
            f'{spine}<itemref idref="chapter1"/></spine></package>').encode()


def epub_bytes(*, version: int = 3, mimetype: bytes | None = b"application/epub+zip",
               container: bytes | None = CONTAINER, opf: bytes | bool | None = None,
               cover_image: bytes | None = None, extra: dict[str, bytes] | None = None,
               chapter_text: str = "Aminata, ma chère amie…", **opf_fields) -> bytes:
    """A real EPUB: ``mimetype`` stored first, container.xml, the OPF, a chapter, nav (EPUB 3)
    or NCX (EPUB 2), and a cover image. Leave out (``None``; ``opf=False``) or replace any part
    to break it."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        if mimetype is not None:
            zf.writestr(zipfile.ZipInfo("mimetype"), mimetype, compress_type=zipfile.ZIP_STORED)
        if container is not None:
            zf.writestr("META-INF/container.xml", container)
        if opf is None:
            opf = opf_bytes(version=version, **opf_fields)
        if opf is not False:
            zf.writestr("OEBPS/content.opf", opf)
        zf.writestr("OEBPS/chapter1.xhtml", CHAPTER.format(text=chapter_text).encode())
        zf.writestr("OEBPS/nav.xhtml" if version == 3 else "OEBPS/toc.ncx", NAV if version == 3 else NCX)
        cover = opf_fields.get("cover", "cover.jpg")
        if cover:
            # stored, as EPUB tools store images (already compressed): every entry's ratio is checked
            zf.writestr(f"OEBPS/{cover}", cover_image if cover_image is not None else image_bytes(600, 900),
                        compress_type=zipfile.ZIP_STORED)
        for name, data in (extra or {}).items():
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


# --- through the API ------------------------------------------------------------------------------------
def _created(response, what: str) -> dict:
    if response.status_code != 201:
        raise AssertionError(f"{what} failed: {response.status_code} {response.data}")
    return response.data


def epub_attached(api: Api, *, book_id: str, data: bytes | None = None, **epub_fields) -> dict:
    """Attach an EPUB (``data``, else ``epub_bytes(**epub_fields)``) to a book ``api`` may edit;
    the ``POST /files/books/{id}/formats`` answer (``book_id``, ``kind``, ``file``)."""
    data = data if data is not None else epub_bytes(**epub_fields)
    return _created(send(api, f"/files/books/{book_id}/formats", data, name="book.epub"), "attaching an EPUB")


def epub_ingested(api: Api, *, data: bytes | None = None, **epub_fields) -> dict:
    """A draft book made from an EPUB (``data``, else ``epub_bytes(**epub_fields)``) by
    ``POST /files/ingest``: its answer (``book``, ``file``, ``cover``)."""
    data = data if data is not None else epub_bytes(**epub_fields)
    return _created(send(api, "/files/ingest", data, name="book.epub"), "ingesting an EPUB")


__all__ = ["CONTAINER", "epub_attached", "epub_bytes", "epub_ingested", "image_bytes", "mp3_bytes", "mp4_bytes",
           "ogg_opus_bytes", "opf_bytes", "pdf_bytes", "send"]
