"""KOReader's progress sync (kosync v1), served at ``/kosync/`` (``config/urls.py``) as
KOReader's reference server (koreader-sync-server) answers it: its routes, its headers
(``x-auth-user``, ``x-auth-key``), its statuses, its error codes 2001–2005 and messages, ``{}``
for a document it does not know, the content type exactly ``application/json`` (a charset
suffix breaks some KOReader builds) and the last write kept (KOReader asks its reader before
moving). Facts: ``../shared/specs/reading-protocols.md``.

Readers sign in with their Coko account: ``x-auth-user`` is its email or phone, ``x-auth-key``
the md5 of its password (``accounts.api.kosync_user``). A ``document`` that is a book file's
KOReader partial MD5 is that book's position, shared with the Coko API (when the reader may
read the book); any other is kept as the reader's own document.
"""

from __future__ import annotations

import json
from datetime import datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from coko.domains.accounts import api as accounts_api
from coko.domains.catalog import api as catalog_api
from coko.platform.errors import DomainError, RateLimited, Unauthorized
from coko.platform.http.client import client_ip

from . import selectors, services, values
from .models import Progress

CONTENT_TYPE = "application/json"
#: The reference server's error codes and messages.
UNAUTHORIZED = (401, 2001, "Unauthorized")
USER_EXISTS = (402, 2002, "Username is already registered.")
INVALID_FIELDS = (403, 2003, "Invalid request")
DOCUMENT_MISSING = (403, 2004, "Field 'document' not provided.")
REGISTRATION_DISABLED = (402, 2005, "User registration is disabled.")
TOO_MANY = (429, 2000, "Too many requests.")  # Coko's sign-up limits (the reference server has none)


def _json(status: int, body: dict) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response


def _error(error: tuple[int, int, str]) -> HttpResponse:
    status, code, message = error
    return _json(status, {"code": code, "message": message})


def _body(request: HttpRequest) -> dict | None:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _reader(request: HttpRequest) -> str | None:
    """The Coko user the request's ``x-auth-user`` and ``x-auth-key`` open, or None."""
    username, key = request.headers.get("x-auth-user", ""), request.headers.get("x-auth-key", "")
    if not username or not key:
        return None
    try:
        return accounts_api.kosync_user(username=username, key=key, ip=client_ip(request))
    except (Unauthorized, RateLimited):  # the client knows 401 only (a 429 would read as a failure)
        return None


def _book_for(*, user_id: str, document: str) -> str | None:
    """The book ``document`` names for this reader: a book file's partial MD5, and a book they may read."""
    if not values.koreader_md5_like(document):
        return None
    book_id = catalog_api.book_id_for_koreader_md5(md5=document)
    if book_id is None:
        return None
    try:
        services.book_access_check(user_id=user_id, book_id=book_id)
    except DomainError:
        return None
    return book_id


def _timestamp(at: datetime) -> int:
    return int(at.timestamp())


@csrf_exempt
@require_http_methods(["POST"])
def users_create(request: HttpRequest) -> HttpResponse:
    """``POST /users/create`` ``{username, password}``: a Coko reader whose sync key is the md5
    KOReader sends as ``password``; 402/2005 while registration through kosync is closed."""
    if not settings.COKO_READING["KOSYNC_REGISTRATION"]:
        return _error(REGISTRATION_DISABLED)
    body = _body(request)
    username, key = (body or {}).get("username"), (body or {}).get("password")
    if not (isinstance(username, str) and username.strip() and ":" not in username
            and isinstance(key, str) and key):
        return _error(INVALID_FIELDS)
    try:
        created = accounts_api.kosync_register(username=username, key=key, ip=client_ip(request))
    except RateLimited:
        return _error(TOO_MANY)
    except DomainError:  # neither an email nor a phone number
        return _error(INVALID_FIELDS)
    if created is None:
        return _error(USER_EXISTS)
    return _json(201, {"username": username})


@require_http_methods(["GET"])
def users_auth(request: HttpRequest) -> HttpResponse:
    """``GET /users/auth``: whether the headers open an account."""
    if _reader(request) is None:
        return _error(UNAUTHORIZED)
    return _json(200, {"authorized": "OK"})


@csrf_exempt
@require_http_methods(["PUT"])
def progress_update(request: HttpRequest) -> HttpResponse:
    """``PUT /syncs/progress`` ``{document, progress, percentage, device, device_id}``: kept
    (the last write wins); answers the document and the server's time in seconds."""
    user_id = _reader(request)
    if user_id is None:
        return _error(UNAUTHORIZED)
    body = _body(request) or {}
    document = body.get("document")
    if not values.koreader_document_valid(document):
        return _error(DOCUMENT_MISSING)
    progress, percentage, device = body.get("progress"), body.get("percentage"), body.get("device")
    device_id = body.get("device_id") or ""
    if isinstance(progress, int) and not isinstance(progress, bool):
        progress = str(progress)  # a page number
    if not (isinstance(progress, str) and progress and len(progress) <= 2000 and isinstance(device, str) and device
            and len(device) <= 120 and isinstance(device_id, str) and len(device_id) <= 120
            and percentage is not None):
        return _error(INVALID_FIELDS)
    book_id = _book_for(user_id=user_id, document=document)
    try:
        outcome = services.position_record(
            user_id=user_id, book_id=book_id, document=document, source="kosync", last_write_wins=True,
            position=services.PositionIn(koreader_progress=progress, percentage=percentage, device=device,
                                         device_id=device_id))
    except DomainError:  # a percentage outside 0–1
        return _error(INVALID_FIELDS)
    return _json(200, {"document": document, "timestamp": _timestamp(outcome.progress.server_time)})


@require_http_methods(["GET"])
def progress_get(request: HttpRequest, document: str) -> HttpResponse:
    """``GET /syncs/progress/<document>``: the stored position, whichever client wrote it, or ``{}``."""
    user_id = _reader(request)
    if user_id is None:
        return _error(UNAUTHORIZED)
    if not values.koreader_document_valid(document):
        return _error(DOCUMENT_MISSING)
    book_id = _book_for(user_id=user_id, document=document)
    found: Progress | None = (selectors.progress_for(user_id=user_id, book_id=book_id) if book_id
                              else selectors.progress_for_document(user_id=user_id, document=document))
    if found is None:
        return _json(200, {})
    return _json(200, {"document": document, "percentage": found.progression, "progress": found.koreader_progress,
                       "device": found.device, "device_id": found.device_id,
                       "timestamp": _timestamp(found.server_time)})


urlpatterns = [
    path("users/create", users_create, name="kosync-users-create"),
    path("users/auth", users_auth, name="kosync-users-auth"),
    path("syncs/progress", progress_update, name="kosync-progress-update"),
    path("syncs/progress/<str:document>", progress_get, name="kosync-progress-get"),
]
