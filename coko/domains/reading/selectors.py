"""Reading reads: a reader's position in a book, their books by last read, a book's history."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.db.models import Q

from . import contracts
from .models import Progress, ProgressEntry

DB = "reading"


def position_as_contract(progress: Progress) -> contracts.Position:
    """A stored ``Progress`` as the frozen ``Position`` the facade returns."""
    return contracts.Position(
        user_id=str(progress.user_id), book_id=str(progress.book_id) if progress.book_id else None,
        document=progress.document, progression=progress.progression, authority=progress.authority,
        locator=progress.locator, koreader_progress=progress.koreader_progress, device=progress.device,
        device_id=progress.device_id, client_time=progress.client_time, server_time=progress.server_time,
        completed=progress.completed_at is not None)


def progress_for(*, user_id: UUID | str, book_id: UUID | str) -> Progress | None:
    """The reader's position in a book, or None (one indexed read: ``(user_id, book_id)``)."""
    return Progress.objects.filter(user_id=user_id, book_id=book_id).first()


def progress_for_document(*, user_id: UUID | str, document: str) -> Progress | None:
    """The reader's position in a KOReader document no book's file matches, or None."""
    return Progress.objects.filter(user_id=user_id, book_id__isnull=True, document=document).first()


def progress_list(*, user_id: UUID | str, limit: int, before: tuple[datetime, UUID] | None = None) -> list[Progress]:
    """The reader's books, most recently read first ("continue reading"): one keyset page of
    ``limit`` rows after ``before`` (the last row's ``(server_time, id)``)."""
    rows = Progress.objects.filter(user_id=user_id, book_id__isnull=False)
    if before is not None:
        at, last_id = before
        rows = rows.filter(Q(server_time__lt=at) | Q(server_time=at, id__lt=last_id))
    return list(rows.order_by("-server_time", "-id")[:limit])


def progress_history(*, progress: Progress) -> list[ProgressEntry]:
    """The positions last accepted for a book, newest first."""
    return list(ProgressEntry.objects.filter(progress=progress).order_by("-id"))
