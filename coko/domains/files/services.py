"""Files use cases: store uploads (one file per owner, one blob per content), ingest EPUBs
into the catalogue, attach formats and covers to books, choose avatars, and hand out
short-lived download links bound to their user.

Every file is inspected in full (``inspection.file_inspect``) and its derivatives made in
memory *before* anything is written: a bad file leaves no row and no blob. Each write is one
``@use_case("files")`` (one durable transaction on the ``files`` alias) holding the rows and
their ``file.stored`` outbox events; the inspection runs before it opens, so no transaction
waits on a decode. The blobs are written inside it, under a transaction-scoped
advisory lock on the content's SHA-256 (two identical uploads at once store one blob and
one row), and deleted again if the transaction fails before committing, unless a committed
file of another owner shares them (a blob outlives any one owner's file). A crash between
the blob write and the commit can leave an orphan blob with no row: harmless, since its key
is its content, and the next upload of those bytes rewrites it.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import BinaryIO

from django.conf import settings
from django.core import signing
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from coko.domains.accounts import api as accounts_api
from coko.domains.catalog import api as catalog_api
from coko.domains.catalog.contracts import BookFiles, BookRef, Cover, FormatFile
from coko.domains.payments import api as payments_api
from coko.platform.crypto import hashes_equal, keyed_hash
from coko.platform.errors import DomainError
from coko.platform.events import publish
from coko.platform.observability import get_logger
from coko.platform.ratelimit import rate_limit_check
from coko.platform.services import use_case

from . import errors, selectors
from .contracts import BOOK_FORMAT_KINDS, COVER_SIZES, FILE_KINDS, FILE_STORED, FileStored
from .epub import epub_read
from .images import Thumbnail, cover_thumbnails_make
from .errors import file_invalid, file_too_large
from .inspection import Inspected, file_inspect
from .models import Derivative, StoredObject, Upload
from .storage import blob_delete, blob_exists, blob_write, derivative_key, object_key, presigned_url
from .values import download_filename

DB = "files"
DOWNLOAD_SALT = "coko.files.download"
HOLDER_PURPOSE = "files.download.holder"
MULTIPART_OVERHEAD = 64 * 1024  # the form's boundaries and headers around the file
log = get_logger("coko.files")


@dataclass(frozen=True)
class Stored:
    """A stored object, whether this call created it, and its derivatives by name."""

    object: StoredObject
    created: bool
    derivatives: dict[str, Derivative] = field(default_factory=dict)


@dataclass(frozen=True)
class Ingested:
    book: BookRef
    file: Stored
    cover: Stored | None


@dataclass(frozen=True)
class DownloadLink:
    url: str  # absolute (object store) or a path on this API (signed token route)
    expires_at: datetime


# --- admission (before the request body is read) -----------------------------------------------
def upload_admit(*, user_id: str, content_length: str | int | None, kinds: tuple[str, ...] = FILE_KINDS) -> None:
    """Refuse a body too large for any accepted kind (413) and count the user's upload (429)."""
    cfg = settings.COKO_FILES
    limit = max(cfg["MAX_BYTES"][kind] for kind in kinds) + MULTIPART_OVERHEAD
    try:
        length = int(content_length or 0)
    except (TypeError, ValueError):
        length = 0
    if length > limit:
        raise file_too_large(size=length, limit=limit)
    hits, window_s = cfg["UPLOAD_RATE"]
    rate_limit_check(key=f"files:upload:{user_id}", limit=hits, window_s=window_s)


# --- storing --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Prepared:
    """An inspected file and its derivatives, ready to store (nothing written yet)."""

    fp: BinaryIO
    inspected: Inspected
    thumbnails: tuple[Thumbnail, ...] = ()


def _prepare(*, fp: BinaryIO, kinds: tuple[str, ...]) -> _Prepared:
    inspected = file_inspect(fp=fp, kinds=kinds)
    thumbnails = tuple(cover_thumbnails_make(fp=fp)) if inspected.kind == "image" else ()
    return _Prepared(fp=fp, inspected=inspected, thumbnails=thumbnails)


@contextlib.contextmanager
def _blobs_undone_on_failure() -> Iterator[list[str]]:
    """Inside a use case: yields the list of blob keys written meanwhile, deleted again (under
    the content locks, before the rollback) if the use case fails."""
    written: list[str] = []
    try:
        yield written
    except BaseException:
        for key in written:
            try:
                blob_delete(key=key)
            except Exception:  # noqa: BLE001 - the original error matters more
                log.warning("orphan blob left", key=key)
        raise


def _content_lock(sha256: str) -> None:
    with connections[DB].cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"files:object:{sha256}"])


def _clean_filename(name: str | None) -> str:
    name = os.path.basename((name or "").replace("\\", "/")).strip()
    return "".join(ch for ch in name if ch.isprintable())[:255]


def _owned(*, sha256: str, user_id: str | None) -> StoredObject | None:
    """The file with these bytes that ``user_id`` uploaded before (None: the platform's own)."""
    if user_id is None:
        return StoredObject.objects.filter(sha256=sha256, created_by__isnull=True).first()
    return StoredObject.objects.filter(sha256=sha256, uploads__user_id=user_id).order_by("created_at").first()


def _blob_put(*, key: str, shared: bool, written: list[str], fp: BinaryIO | None = None,
              data: bytes | None = None) -> None:
    """Write a content-addressed blob. Only a blob no committed row shares joins ``written``
    (taken back if the use case fails); a shared one is rewritten only if lost from the store."""
    if not shared:
        blob_write(key=key, fp=fp, data=data)
        written.append(key)
    elif not blob_exists(key=key):
        blob_write(key=key, fp=fp, data=data)
        log.warning("missing blob rewritten", key=key)


def _put(prepared: _Prepared, *, user_id: str | None, filename: str, written: list[str]) -> Stored:
    """Get or create the owner's file of ``prepared``. Not a use case: runs inside one
    (``_stored``, ``_ingested``), whose transaction holds the content lock and the
    ``file.stored`` event. Another owner's file of the same bytes is never answered: a new
    row over the same blob is."""
    info = prepared.inspected
    _content_lock(info.sha256)
    obj = _owned(sha256=info.sha256, user_id=user_id)
    created = obj is None
    if obj is None:
        key = object_key(info.sha256)
        _blob_put(key=key, shared=StoredObject.objects.filter(key=key).exists(), written=written, fp=prepared.fp)
        obj = StoredObject.objects.create(
            sha256=info.sha256, koreader_md5=info.koreader_md5, kind=info.kind, media_type=info.media_type,
            extension=info.extension, size=info.size, key=key, width=info.width, height=info.height,
            created_by=user_id)
        publish(producer=DB, type=FILE_STORED, aggregate_id=obj.id, payload=FileStored(
            file_id=str(obj.id), kind=obj.kind, media_type=obj.media_type, size=obj.size, sha256=obj.sha256,
            koreader_md5=obj.koreader_md5, uploaded_by=str(user_id) if user_id else None))
    else:
        _blob_put(key=obj.key, shared=True, written=written, fp=prepared.fp)
    derivatives = selectors.derivatives_of(object_id=obj.id)
    for thumb in prepared.thumbnails:
        if thumb.name in derivatives:
            continue
        key = derivative_key(info.sha256, thumb.name)
        _blob_put(key=key, shared=Derivative.objects.filter(key=key).exists(), written=written, data=thumb.data)
        derivatives[thumb.name] = Derivative.objects.create(
            source=obj, name=thumb.name, media_type=thumb.media_type, width=thumb.width, height=thumb.height,
            size=len(thumb.data), sha256=thumb.sha256, key=key)
    if user_id:
        Upload.objects.get_or_create(object=obj, user_id=user_id, defaults={"filename": filename})
    return Stored(object=obj, created=created, derivatives=derivatives)


@use_case(DB)
def _stored(*, prepared: _Prepared, user_id: str | None, filename: str) -> Stored:
    with _blobs_undone_on_failure() as written:
        return _put(prepared, user_id=user_id, filename=filename, written=written)


def object_store(*, fp: BinaryIO, user_id: str | None, filename: str = "", kinds: tuple[str, ...] = FILE_KINDS) -> Stored:
    """Store an upload as the user's file (images get their WebP thumbnails): inspected first,
    then one use case. The same user's same bytes again answer their file (``created`` False);
    another owner's identical file is neither answered nor revealed."""
    stored = _stored(prepared=_prepare(fp=fp, kinds=kinds), user_id=user_id, filename=_clean_filename(filename))
    log.info("file stored", object_id=str(stored.object.id), kind=stored.object.kind, created=stored.created)
    return stored


# --- describing -----------------------------------------------------------------------------------
def _public(path: str) -> str:
    return f"{settings.COKO_FILES['PUBLIC_BASE_URL'].rstrip('/')}{path}"


def cover_urls(*, object_id) -> dict[str, str]:
    """``original`` and one URL per thumbnail size of an image object."""
    urls = {"original": _public(reverse("api-v1:files_cover_original", kwargs={"file_id": str(object_id)}))}
    for name in COVER_SIZES:
        urls[name] = _public(reverse("api-v1:files_cover", kwargs={"file_id": str(object_id), "size": name}))
    return urls


def format_file(obj: StoredObject) -> FormatFile:
    return FormatFile(kind=obj.kind, file_id=str(obj.id), media_type=obj.media_type, size=obj.size,
                      sha256=obj.sha256, koreader_md5=obj.koreader_md5)


def cover_of(obj: StoredObject) -> Cover:
    return Cover(file_id=str(obj.id), urls=cover_urls(object_id=obj.id))


# --- ingesting an EPUB ----------------------------------------------------------------------------
@use_case(DB)
def _ingested(*, book_file: _Prepared, cover_file: _Prepared | None, actor_id: str, filename: str,
              cover_name: str) -> tuple[Stored, Stored | None]:
    with _blobs_undone_on_failure() as written:
        stored = _put(book_file, user_id=actor_id, filename=filename, written=written)
        cover = None
        if cover_file is not None:
            cover = _put(cover_file, user_id=actor_id, filename=cover_name, written=written)
    return stored, cover


def epub_ingest(*, fp: BinaryIO, actor_id: str, filename: str = "") -> Ingested:
    """Store an EPUB (and its cover, with thumbnails) in one use case, then have the catalog
    create a draft book from its OPF (the catalog's own transaction)."""
    book_file = _prepare(fp=fp, kinds=("epub",))
    content = epub_read(fp)
    cover_file = None
    if content.cover:
        try:
            cover_file = _prepare(fp=io.BytesIO(content.cover), kinds=("image",))
        except DomainError as exc:
            raise file_invalid(errors.EPUB_COVER_INVALID, entry=content.cover_name, cover=exc.details) from None
    stored, cover = _ingested(book_file=book_file, cover_file=cover_file, actor_id=actor_id,
                              filename=_clean_filename(filename), cover_name=_clean_filename(content.cover_name))
    book = catalog_api.book_draft_from_metadata(
        actor_id=str(actor_id), metadata=content.metadata, file=format_file(stored.object),
        cover=cover_of(cover.object) if cover else None)
    log.info("epub ingested", object_id=str(stored.object.id), book_id=book.id)
    return Ingested(book=book, file=stored, cover=cover)


# --- books: formats and covers --------------------------------------------------------------------
def _book_editable_check(*, book_id: str, actor_id: str) -> None:
    if catalog_api.book_editable_by(book_id=str(book_id), user_id=str(actor_id)):
        return
    if catalog_api.book_files(book_id=str(book_id)) is None:
        raise errors.BOOK_NOT_FOUND(book_id=str(book_id))
    raise errors.BOOK_NOT_EDITABLE(book_id=str(book_id))


def _existing(*, file_id, actor_id: str, is_staff: bool, kinds: tuple[str, ...]) -> Stored:
    """An object the actor uploaded (staff: any object), of one of ``kinds``."""
    obj = selectors.object_get(object_id=file_id)
    if obj is None or not (is_staff or selectors.object_uploaded_by(object_id=obj.id, user_id=actor_id)):
        raise errors.FILE_NOT_FOUND(file_id=str(file_id))
    if obj.kind not in kinds:
        raise errors.FILE_KIND_NOT_ALLOWED(kind=obj.kind, media_type=obj.media_type, allowed=list(kinds))
    return Stored(object=obj, created=False, derivatives=selectors.derivatives_of(object_id=obj.id))


def _given(*, fp: BinaryIO | None, file_id, actor_id: str, filename: str, is_staff: bool,
           kinds: tuple[str, ...]) -> Stored:
    if (fp is None) == (file_id is None):
        raise errors.FILE_REQUIRED()
    if fp is not None:
        return object_store(fp=fp, user_id=actor_id, filename=filename, kinds=kinds)
    return _existing(file_id=file_id, actor_id=actor_id, is_staff=is_staff, kinds=kinds)


def book_format_attach(*, actor_id: str, book_id: str, fp: BinaryIO | None = None, file_id=None,
                       filename: str = "", is_staff: bool = False) -> Stored:
    """Attach an EPUB, PDF or audio file (sent now, or uploaded before) to a book."""
    _book_editable_check(book_id=book_id, actor_id=actor_id)
    stored = _given(fp=fp, file_id=file_id, actor_id=actor_id, filename=filename, is_staff=is_staff,
                    kinds=BOOK_FORMAT_KINDS)
    catalog_api.book_format_attach(actor_id=str(actor_id), book_id=str(book_id), file=format_file(stored.object))
    return stored


def book_cover_set(*, actor_id: str, book_id: str, fp: BinaryIO | None = None, file_id=None,
                   filename: str = "", is_staff: bool = False) -> Stored:
    """Make an image (sent now, or uploaded before) a book's cover, with its thumbnails."""
    _book_editable_check(book_id=book_id, actor_id=actor_id)
    stored = _given(fp=fp, file_id=file_id, actor_id=actor_id, filename=filename, is_staff=is_staff,
                    kinds=("image",))
    catalog_api.book_cover_set(actor_id=str(actor_id), book_id=str(book_id), cover=cover_of(stored.object))
    return stored


# --- avatars -------------------------------------------------------------------------------------
def avatar_choose(*, user_id: str, file_id, ip: str | None = None) -> StoredObject:
    """Make an image the user uploaded their avatar (accounts keeps the id). Any other id —
    none such, someone else's, not an image — is the same ``avatar_invalid``: no oracle."""
    obj = selectors.object_get(object_id=file_id)
    if obj is None or obj.kind != "image" or not selectors.object_uploaded_by(object_id=obj.id, user_id=user_id):
        raise errors.AVATAR_INVALID(field="file_id")
    accounts_api.avatar_set(user_id=str(user_id), file_id=str(obj.id), ip=ip)
    return obj


# --- downloads ------------------------------------------------------------------------------------
def download_allowed(*, user_id: str, book: BookFiles, is_staff: bool = False) -> bool:
    """Whether ``user_id`` (``""``: anonymous) may download ``book``'s files: THE seam for
    entitlements. The book's owner and staff always; anyone else as payments says
    (``payments.api.has_access``: a free book, a purchase, a pass whose scope covers it, an
    institution code). A book payments has not heard of yet (its ``book.published`` still on
    the way) is judged by the catalogue's own word: published and free.
    """
    if is_staff or (book.owner_id and str(book.owner_id) == str(user_id)):
        return True
    access = payments_api.has_access(user_id=user_id or None, book_id=book.book_id)
    if access.reason == "unknown_book":
        return book.status == "published" and book.access_model == "free"
    return access.allowed


def _holder(*, user_id: str, expires: int) -> str:
    """Who a link was made for, as only this server can tell: a keyed hash of the user id and
    the link's expiry (no user id in the link, and no two links of one user alike)."""
    return keyed_hash(f"{user_id}|{expires}", purpose=HOLDER_PURPOSE)


def download_token_make(*, object_id, user_id: str, book_id: str, filename: str,
                        now: datetime | None = None) -> tuple[str, datetime]:
    """A signed token for the local download route, and when it expires. A link made for a
    signed-in user (``user_id``) is bound to them; one made for nobody (``""``) is not."""
    now = now or timezone.now()
    expires_at = now + timedelta(seconds=settings.COKO_FILES["DOWNLOAD_TTL_S"])
    exp = int(expires_at.timestamp())
    claims = {"o": str(object_id), "b": str(book_id), "n": filename, "exp": exp}
    if user_id:
        claims["h"] = _holder(user_id=str(user_id), expires=exp)
    return signing.dumps(claims, salt=DOWNLOAD_SALT), expires_at


def download_token_read(*, token: str, reader_id: str | None = None,
                        now: datetime | None = None) -> tuple[StoredObject, str]:
    """The object and file name a download token grants; 403 if forged, 410 once expired.

    ``reader_id``: who the request proves it comes from (a Bearer token or HTTP Basic), if
    anyone; a link bound to someone else is then refused (403). Without credentials (an
    e-reader following an OPDS acquisition redirect), the signature and expiry suffice."""
    try:
        claims = signing.loads(token, salt=DOWNLOAD_SALT)
    except signing.BadSignature:
        raise errors.DOWNLOAD_TOKEN_INVALID() from None
    now = now or timezone.now()
    exp = int(claims.get("exp", 0))
    if exp < now.timestamp():
        raise errors.DOWNLOAD_EXPIRED()
    holder = claims.get("h")
    if reader_id and holder and not hashes_equal(_holder(user_id=reader_id, expires=exp), holder):
        raise errors.DOWNLOAD_NOT_YOURS()
    obj = selectors.object_get(object_id=claims.get("o"))
    if obj is None:
        raise errors.FILE_GONE()
    log.info("download served", object_id=str(obj.id), user_id=reader_id, book_id=claims.get("b"))
    return obj, claims.get("n") or f"{obj.id}.{obj.extension}"


def book_for_download(*, book_id: str) -> BookFiles:
    """The book's access and files, or 404."""
    book = catalog_api.book_files(book_id=str(book_id))
    if book is None:
        raise errors.BOOK_NOT_FOUND(book_id=str(book_id))
    return book


def book_download_link(*, user_id: str, book_id: str, kind: str, is_staff: bool = False,
                       now: datetime | None = None) -> DownloadLink:
    """A short-lived URL to one of a book's files, if the user may download it."""
    book = book_for_download(book_id=book_id)
    if not download_allowed(user_id=str(user_id), book=book, is_staff=is_staff):
        raise errors.DOWNLOAD_NOT_ALLOWED(book_id=str(book_id), access_model=book.access_model)
    chosen = next((f for f in book.formats if f.kind == kind), None)
    obj = selectors.object_get(object_id=chosen.file_id) if chosen else None
    if obj is None:
        raise errors.FORMAT_NOT_FOUND(format=kind, available=sorted({f.kind for f in book.formats}))
    now = now or timezone.now()
    ttl = settings.COKO_FILES["DOWNLOAD_TTL_S"]
    filename = download_filename(title=book.title, authors=book.authors, book_id=book_id, extension=obj.extension)
    url = presigned_url(key=obj.key, expires_s=ttl, filename=filename, media_type=obj.media_type)
    if url is not None:
        return DownloadLink(url=url, expires_at=now + timedelta(seconds=ttl))
    token, expires_at = download_token_make(object_id=obj.id, user_id=user_id, book_id=book_id, filename=filename,
                                            now=now)
    return DownloadLink(url=reverse("api-v1:files_download", kwargs={"token": token}), expires_at=expires_at)
