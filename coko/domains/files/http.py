"""HTTP edge of the files domain: uploads, EPUB ingestion, book formats and covers, cover
images, the avatar and signed downloads under /api/v1/files.

Thin: parse, call a service, shape the answer. (Routers are mounted at the API root, so
every path here carries its ``/files`` prefix.)
"""

from __future__ import annotations


from datetime import datetime
from typing import Literal
from uuid import UUID

from django.http import FileResponse, HttpRequest, HttpResponse
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from coko.domains.accounts import api as accounts_api
from coko.platform.auth.ninja import BearerAuth
from coko.platform.http.client import client_ip
from coko.platform.http.openapi import error_statuses

from . import errors, selectors, services
from .contracts import BOOK_FORMAT_KINDS, COVER_SIZES, FILE_KINDS
from .storage import blob_open

router = Router(tags=["files"])
bearer = BearerAuth()
IMMUTABLE = "public, max-age=31536000, immutable"


class UploadAuth(BearerAuth):
    """``publish_books``; then, before the body is read, the body's size (413) and the user's
    upload rate (429) — ninja authenticates before it parses a multipart body."""

    def __init__(self, *, kinds: tuple[str, ...]) -> None:
        super().__init__(permissions=("publish_books",))
        self.kinds = kinds

    def __call__(self, request: HttpRequest):
        principal = super().__call__(request)
        services.upload_admit(user_id=principal.user_id, content_length=request.META.get("CONTENT_LENGTH"),
                              kinds=self.kinds)
        return principal


# --- schemas ------------------------------------------------------------------------------------
class FileOut(Schema):
    id: UUID
    kind: str
    media_type: str
    size: int
    sha256: str
    koreader_md5: str
    width: int | None
    height: int | None
    urls: dict[str, str]  # images: original and thumbnail URLs
    created: bool  # False: you had uploaded these bytes already (your same file answered)


class BookOut(Schema):
    id: UUID
    title: str
    status: str


class CoverOut(Schema):
    file_id: UUID
    urls: dict[str, str]


class IngestOut(Schema):
    book: BookOut
    file: FileOut
    cover: CoverOut | None


class FormatOut(Schema):
    book_id: UUID
    kind: str
    file: FileOut


class BookCoverOut(Schema):
    book_id: UUID
    cover: CoverOut
    file: FileOut


class DownloadQuery(Schema):
    format: Literal["epub", "pdf", "audio"] = "epub"


class DownloadOut(Schema):
    url: str
    expires_at: datetime


def _file(stored: services.Stored) -> dict:
    obj = stored.object
    return {"id": obj.id, "kind": obj.kind, "media_type": obj.media_type, "size": obj.size, "sha256": obj.sha256,
            "koreader_md5": obj.koreader_md5, "width": obj.width, "height": obj.height,
            "urls": services.cover_urls(object_id=obj.id) if obj.kind == "image" else {},
            "created": stored.created}


def _cover(stored: services.Stored) -> dict:
    return {"file_id": stored.object.id, "urls": services.cover_urls(object_id=stored.object.id)}


# --- uploads ------------------------------------------------------------------------------------
@router.post("/files/uploads", response={200: FileOut, 201: FileOut}, auth=UploadAuth(kinds=FILE_KINDS),
             summary="Upload a file (EPUB, PDF, JPEG/PNG/WebP, MP3/M4A/M4B/Ogg); 200 if you uploaded it already")
def upload(request, file: File[UploadedFile]):
    stored = services.object_store(fp=file.file, user_id=request.auth.user_id, filename=file.name)
    return Status(201 if stored.created else 200, _file(stored))


@router.post("/files/ingest", response={201: IngestOut}, auth=UploadAuth(kinds=("epub",)),
             summary="Create a draft book from an EPUB: metadata and cover read from its OPF")
def ingest(request, file: File[UploadedFile]):
    result = services.epub_ingest(fp=file.file, actor_id=request.auth.user_id, filename=file.name)
    return Status(201, {"book": {"id": result.book.id, "title": result.book.title, "status": result.book.status},
                        "file": _file(result.file), "cover": _cover(result.cover) if result.cover else None})


@router.post("/files/books/{book_id}/formats", response={201: FormatOut},
             auth=UploadAuth(kinds=BOOK_FORMAT_KINDS),
             summary="Attach an EPUB, PDF or audio file to a book (send `file`, or `file_id` of an upload)")
def format_attach(request, book_id: UUID, file: UploadedFile | None = File(None), file_id: UUID | None = Form(None)):
    stored = services.book_format_attach(actor_id=request.auth.user_id, book_id=str(book_id),
                                         fp=file.file if file else None, file_id=file_id,
                                         filename=file.name if file else "", is_staff=request.auth.is_admin)
    return Status(201, {"book_id": book_id, "kind": stored.object.kind, "file": _file(stored)})


@router.post("/files/books/{book_id}/cover", response={200: BookCoverOut}, auth=UploadAuth(kinds=("image",)),
             summary="Set a book's cover from an image (send `file`, or `file_id` of an upload)")
def cover_set(request, book_id: UUID, file: UploadedFile | None = File(None), file_id: UUID | None = Form(None)):
    stored = services.book_cover_set(actor_id=request.auth.user_id, book_id=str(book_id),
                                     fp=file.file if file else None, file_id=file_id,
                                     filename=file.name if file else "", is_staff=request.auth.is_admin)
    return {"book_id": book_id, "cover": _cover(stored), "file": _file(stored)}


# --- avatars --------------------------------------------------------------------------------------
class AvatarIn(Schema):
    file_id: UUID


class AvatarOut(Schema):
    avatar_file_id: UUID
    urls: dict[str, str]


@router.put("/files/avatar", response=AvatarOut, auth=bearer,
            summary="Make an image you uploaded your avatar (the profile's `avatar_file_id`)")
def avatar_choose(request, body: AvatarIn):
    obj = services.avatar_choose(user_id=request.auth.user_id, file_id=body.file_id, ip=client_ip(request))
    return {"avatar_file_id": obj.id, "urls": services.cover_urls(object_id=obj.id)}


# --- covers (public, immutable) -------------------------------------------------------------------
def _not_modified(request, etag: str) -> HttpResponse | None:
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        response = HttpResponse(status=304)
        response["ETag"], response["Cache-Control"] = etag, IMMUTABLE
        return response
    return None


@router.get("/files/covers/{file_id}/original", auth=None, url_name="files_cover_original",
            summary="A cover image as uploaded", response={200: None, 304: None})
def cover_original(request, file_id: UUID):
    obj = selectors.object_get(object_id=file_id)
    if obj is None or obj.kind != "image":
        raise errors.COVER_NOT_FOUND(file_id=str(file_id), size="original", sizes=list(COVER_SIZES))
    etag = f'"{obj.sha256}"'
    if (response := _not_modified(request, etag)) is not None:
        return response
    response = FileResponse(blob_open(key=obj.key), content_type=obj.media_type)
    response["Content-Length"], response["ETag"], response["Cache-Control"] = str(obj.size), etag, IMMUTABLE
    return response


@router.get("/files/covers/{file_id}/{size}.webp", auth=None, url_name="files_cover",
            summary="A cover thumbnail (WebP): small, medium or large", response={200: None, 304: None})
def cover_thumbnail(request, file_id: UUID, size: str):
    derivative = selectors.derivative_get(object_id=file_id, name=size) if size in COVER_SIZES else None
    if derivative is None:
        raise errors.COVER_NOT_FOUND(file_id=str(file_id), size=size, sizes=list(COVER_SIZES))
    etag = f'"{derivative.sha256}"'
    if (response := _not_modified(request, etag)) is not None:
        return response
    with blob_open(key=derivative.key) as blob:
        response = HttpResponse(blob.read(), content_type=derivative.media_type)
    response["ETag"], response["Cache-Control"] = etag, IMMUTABLE
    return response


# --- downloads ------------------------------------------------------------------------------------
@router.get("/files/books/{book_id}/download", response=DownloadOut, auth=bearer,
            summary="A short-lived link to a book's file, if you may download it")
def download_link(request, book_id: UUID, query: Query[DownloadQuery]):
    link = services.book_download_link(user_id=request.auth.user_id, book_id=str(book_id), kind=query.format,
                                       is_staff=request.auth.is_admin)
    url = link.url if "://" in link.url else request.build_absolute_uri(link.url)
    return {"url": url, "expires_at": link.expires_at}


class ReaderAppAuth:
    """Who a readers' app is: a Bearer token, or HTTP Basic credentials (email or phone and
    password, under the login limits), or nobody. A wrong credential is a 401 asking for
    Basic, so OPDS apps prompt for the password."""

    def __call__(self, request: HttpRequest):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _space, value = header.partition(" ")
        if scheme.lower() == "bearer":
            request.reader = bearer(request)
        elif scheme.lower() == "basic":
            request.reader = accounts_api.basic_credentials_check(value=value, ip=client_ip(request))
        else:
            request.reader = None
        return True


reader_app = ReaderAppAuth()


@router.get("/files/books/{book_id}/file/{format}", auth=reader_app, response={302: None},
            summary="A book's file for readers' apps (OPDS acquisition links): a redirect to a "
                    "short-lived signed link, after the same right check; Bearer or HTTP Basic")
def acquisition(request, book_id: UUID, format: Literal["epub", "pdf", "audio"]):
    reader = request.reader
    if reader is None:
        book = services.book_for_download(book_id=str(book_id))
        if not services.download_allowed(user_id="", book=book):
            raise errors.DOWNLOAD_SIGN_IN()
        user_id, staff = "", False
    else:
        user_id = str(reader.user_id)
        staff = getattr(reader, "is_admin", False) or "admin" in getattr(reader, "roles", ())
    link = services.book_download_link(user_id=user_id, book_id=str(book_id), kind=format, is_staff=staff)
    response = HttpResponse(status=302)
    response["Location"] = link.url if "://" in link.url else request.build_absolute_uri(link.url)
    response["Cache-Control"] = "private, no-store"
    return response


@router.get("/files/download/{token}", auth=reader_app, url_name="files_download", response={200: None},
            summary="The file a signed download link grants (403 forged or made for another account, "
                    "410 expired); credentials, if sent, must be those of the account it was made for",
            openapi_extra=error_statuses(401, 403, 410))
def download(request, token: str):
    reader = request.reader
    obj, filename = services.download_token_read(token=token, reader_id=str(reader.user_id) if reader else None)
    # book files are already compressed (zip, PDF streams, audio): never gzip them again
    request.META.pop("HTTP_ACCEPT_ENCODING", None)
    response = FileResponse(blob_open(key=obj.key), as_attachment=True, filename=filename,
                            content_type=obj.media_type)
    response["Content-Length"], response["Cache-Control"] = str(obj.size), "private, no-store"
    return response
