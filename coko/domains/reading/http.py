"""HTTP edge of the reading domain, mounted by the platform at /api/v1: the brief's
``/reading/...`` routes. KOReader's sync protocol is served apart (``kosync``, at /kosync).

Thin: parse, check the reader's access, call a service or selector, shape the answer.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import ValidationError

from coko.domains.catalog import api as catalog_api
from coko.platform.auth.ninja import BearerAuth
from coko.platform.http.openapi import error_statuses

from . import errors, selectors, services
from .models import Progress

router = Router(tags=["reading"])
bearer = BearerAuth()


# --- schemas ------------------------------------------------------------------------------------
class KoreaderPosition(Schema):
    progress: str = Field(..., max_length=2000, description="an XPointer (reflowable books) or a page number")
    percentage: float = Field(..., description="0–1 through the whole book")


class ProgressIn(Schema):
    locator: Any = Field(None, description="a Readium Locator (an object); its locations.totalProgression "
                                           "is the common ground with KOReader")
    koreader: KoreaderPosition | None = None
    device: str = Field("", max_length=120)
    device_id: str = Field("", max_length=120)
    modified: datetime | None = Field(None, description="the client's time of this position (default: now)")
    jump_back: bool = Field(False, description="move back even if the stored position is ahead (the reader chose)")


class ProgressOut(Schema):
    book_id: UUID | None
    progression: float = Field(description="0–1 through the whole book (the common ground)")
    authority: str = Field(description="the form the last writer sent: locator | koreader")
    locator: dict[str, Any] | None
    koreader: KoreaderPosition | None
    device: str
    device_id: str
    modified: datetime = Field(description="the client's time of the position")
    server_time: datetime
    completed: bool


class ProgressWriteOut(Schema):
    accepted: bool
    conflict: bool = Field(description="not applied: the stored position (answered) is ahead or newer; "
                                       "send jump_back to move back anyway")
    position: ProgressOut


class BookBrief(Schema):
    id: UUID
    title: str
    authors: list[str]
    cover_url: str | None


class ContinueItem(ProgressOut):
    book: BookBrief | None


class ContinueOut(Schema):
    items: list[ContinueItem]
    next_cursor: str | None


class PageIn(Schema):
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=200, description="the next_cursor of the previous page")


# --- shaping ------------------------------------------------------------------------------------
def progress_out(progress: Progress, row=None) -> dict:
    """A stored position (or ``row``, one of its history entries) in the API's shape."""
    row = row or progress
    koreader = ({"progress": row.koreader_progress, "percentage": row.progression}
                if row.koreader_progress else None)
    return {"book_id": progress.book_id, "progression": row.progression, "authority": row.authority,
            "locator": row.locator, "koreader": koreader, "device": row.device,
            "device_id": row.device_id, "modified": row.client_time, "server_time": row.server_time,
            "completed": progress.completed_at is not None}


def _cursor_encode(progress: Progress) -> str:
    return base64.urlsafe_b64encode(json.dumps([progress.server_time.isoformat(), str(progress.id)]).encode()).decode()


def _cursor_decode(cursor: str) -> tuple[datetime, UUID]:
    try:
        at, progress_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(at), UUID(progress_id)
    except (ValueError, TypeError) as exc:
        raise errors.INVALID_PAGE_CURSOR(cursor=cursor) from exc


def _query_only(request: HttpRequest, *names: str) -> None:
    """Refuse query parameters the route does not take (ninja drops them silently)."""
    unknown = sorted(set(request.GET) - set(names))
    if unknown:
        raise ValidationError([{"type": "extra_forbidden", "loc": ["query", name], "msg": "Extra inputs are not permitted"}
                               for name in unknown])


# --- routes -------------------------------------------------------------------------------------
@router.get("/reading/progress", response=ContinueOut, auth=bearer,
            summary="My books, most recently read first (continue reading)")
def progress_list(request: HttpRequest, page: Query[PageIn]):
    _query_only(request, "limit", "cursor")
    before = _cursor_decode(page.cursor) if page.cursor else None
    rows = selectors.progress_list(user_id=request.auth.user_id, limit=page.limit + 1, before=before)
    more = len(rows) > page.limit
    rows = rows[:page.limit]
    books = {b.id: b for b in catalog_api.book_summaries(book_ids=[str(p.book_id) for p in rows])}
    items = []
    for progress in rows:
        book = books.get(str(progress.book_id))
        items.append({**progress_out(progress),
                      "book": {"id": book.id, "title": book.title, "authors": list(book.authors),
                               "cover_url": book.cover_url} if book else None})
    return {"items": items, "next_cursor": _cursor_encode(rows[-1]) if more else None}


@router.get("/reading/progress/{book_id}", response=ProgressOut, auth=bearer,
            summary="My position in a book, whichever device wrote it")
def progress_get(request: HttpRequest, book_id: UUID):
    progress = selectors.progress_for(user_id=request.auth.user_id, book_id=book_id)
    if progress is None:
        raise errors.PROGRESS_NOT_FOUND(book_id=str(book_id))
    return progress_out(progress)


@router.get("/reading/progress/{book_id}/history", response=list[ProgressOut], auth=bearer,
            summary="The positions last accepted in a book, newest first (to undo a mistaken sync)")
def progress_history(request: HttpRequest, book_id: UUID):
    progress = selectors.progress_for(user_id=request.auth.user_id, book_id=book_id)
    if progress is None:
        raise errors.PROGRESS_NOT_FOUND(book_id=str(book_id))
    return [progress_out(progress, entry) for entry in selectors.progress_history(progress=progress)]


@router.post("/reading/progress/{book_id}", response=ProgressWriteOut, auth=bearer,
             summary="Save my position in a book (never moves me back silently: conflict)",
             openapi_extra=error_statuses(403, 404))
def progress_post(request: HttpRequest, book_id: UUID, payload: ProgressIn):
    user_id = request.auth.user_id
    services.book_access_check(user_id=user_id, book_id=book_id)
    outcome = services.position_record(user_id=user_id, book_id=book_id, position=services.PositionIn(
        locator=payload.locator,
        koreader_progress=payload.koreader.progress if payload.koreader else None,
        percentage=payload.koreader.percentage if payload.koreader else None,
        device=payload.device, device_id=payload.device_id, client_time=payload.modified,
        jump_back=payload.jump_back))
    return {"accepted": outcome.accepted, "conflict": outcome.conflict, "position": progress_out(outcome.progress)}
