"""A reader's place in a book, whichever door it comes through (the Coko API, kosync).

The rule: a position never moves the reader backwards silently. Through the Coko API, a
write older than the stored one (by the client's time), or behind it from another device,
is not applied: the answer is the stored position with ``conflict`` set, so the client can
ask the reader; ``jump_back`` applies it anyway (the reader chose). KOReader's protocol keeps
the last write (its client asks the reader before moving), so kosync writes with
``last_write_wins``. Every accepted position is kept in the book's short history.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.conf import settings

from coko.domains.catalog import api as catalog_api
from coko.domains.payments import api as payments_api
from coko.platform import clock
from coko.platform.events import publish
from coko.platform.services import use_case

from .. import contracts, errors, values
from ..models import Progress, ProgressEntry
from ._shared import DB

_ENTRY_FIELDS = ("progression", "authority", "locator", "koreader_progress", "device", "device_id", "source",
                 "client_time", "server_time")


@dataclass(frozen=True)
class PositionIn:
    """A position as a client sends it: a Readium Locator and/or a KOReader position
    (``koreader_progress``: an XPointer or a page; ``percentage``: 0–1), the device, the
    client's time (None: now) and whether the reader chose to jump back."""

    locator: dict | None = None
    koreader_progress: str | None = None
    percentage: float | None = None
    device: str = ""
    device_id: str = ""
    client_time: datetime | None = None
    jump_back: bool = False


@dataclass(frozen=True)
class Outcome:
    """What became of a position: ``accepted`` (stored), or not, with ``conflict`` (the stored
    position is ahead or newer: ``progress`` is the stored one)."""

    progress: Progress
    accepted: bool
    conflict: bool


def book_access_check(*, user_id: UUID | str, book_id: UUID | str) -> None:
    """Raise unless ``user_id`` may read ``book_id``: ``book_not_found`` (no such book),
    ``book_not_readable`` (no entitlement, withdrawn). Asks payments first (one cached read);
    a book payments has not heard of yet is asked of the catalogue (a free published book is
    open; its owner may always read it)."""
    access = payments_api.has_access(user_id=user_id, book_id=book_id)
    if access.allowed:
        return
    book = catalog_api.book_files(book_id=str(book_id))
    if book is None:
        raise errors.BOOK_NOT_FOUND(book_id=str(book_id))
    if book.owner_id == str(user_id):
        return
    if access.reason == "unknown_book":
        if book.status == "published" and book.access_model == "free":
            return
        reason = "withdrawn" if book.status != "published" else "no_entitlement"
    else:
        reason = access.reason
    raise errors.BOOK_NOT_READABLE(book_id=str(book_id), reason=reason)


def _checked(position: PositionIn, *, now: datetime) -> tuple[float, str, datetime]:
    """The position's common-ground progression, its authoritative form, its client time;
    or the error its first fault deserves."""
    if position.locator is not None:
        values.locator_check(position.locator)
    percentage = None
    if position.percentage is not None:
        percentage = values.progression_check(position.percentage, field="koreader.percentage")
    total = values.locator_total_progression(position.locator)
    if position.locator is not None and total is not None:
        progression, authority = total, "locator"
    elif position.koreader_progress is not None and percentage is not None:
        progression, authority = percentage, "koreader"
    else:
        raise errors.POSITION_MISSING()
    client_time = position.client_time or now
    if client_time.tzinfo is None:  # a time without its offset is UTC
        client_time = client_time.replace(tzinfo=UTC)
    if client_time > now + timedelta(seconds=settings.COKO_READING["CLOCK_SKEW_S"]):
        raise errors.CLIENT_TIME_IN_FUTURE(client_time=client_time.isoformat(), server_time=now.isoformat())
    return progression, authority, min(client_time, now)


def position_record(*, user_id: UUID | str, book_id: UUID | str | None, position: PositionIn,
                    document: str = "", source: str = "api", last_write_wins: bool = False) -> Outcome:
    """Store a reader's position in a book (``book_id``) or, for kosync, in a ``document``
    no book's file matches (``book_id`` None). The caller has checked the reader's access.

    Raises ``invalid_locator``, ``invalid_progression``, ``position_missing`` and
    ``client_time_in_future`` before anything is written.
    """
    progression, authority, client_time = _checked(position, now=clock.now())
    return _position_store(user_id=UUID(str(user_id)), book_id=UUID(str(book_id)) if book_id else None,
                           position=position, progression=progression, authority=authority,
                           client_time=client_time, document=document, source=source,
                           last_write_wins=last_write_wins)


def _locked(*, user_id: UUID, book_id: UUID | None, document: str) -> Progress | None:
    rows = Progress.objects.select_for_update()
    if book_id is not None:
        return rows.filter(user_id=user_id, book_id=book_id).first()
    return rows.filter(user_id=user_id, book_id__isnull=True, document=document).first()


@use_case(DB)
def _position_store(*, user_id: UUID, book_id: UUID | None, position: PositionIn, progression: float,
                    authority: str, client_time: datetime, document: str, source: str,
                    last_write_wins: bool) -> Outcome:
    now = clock.now()
    progress = _locked(user_id=user_id, book_id=book_id, document=document)
    if progress is None:
        # Two first writes at once: one row wins (ON CONFLICT DO NOTHING), the other locks it.
        Progress.objects.bulk_create([Progress(
            id=uuid.uuid4(), user_id=user_id, book_id=book_id, document=document, progression=progression,
            authority=authority, source=source, client_time=client_time, server_time=now, started_at=now,
            announced_progression=progression, announced_at=now)], ignore_conflicts=True)
        progress = _locked(user_id=user_id, book_id=book_id, document=document)
        if not progress.history.exists():
            _apply(progress, position=position, progression=progression, authority=authority,
                   client_time=client_time, document=document, source=source, now=now)
            if book_id is not None:
                publish(producer=DB, type=contracts.READING_STARTED, aggregate_id=progress.id,
                        payload=contracts.ReadingStarted(user_id=str(user_id), book_id=str(book_id),
                                                         progression=progression, device=position.device,
                                                         started_at=now))
            _announce(progress, now=now)
            return Outcome(progress=progress, accepted=True, conflict=False)
    older = client_time < progress.client_time
    behind = progression < progress.progression and position.device_id != progress.device_id
    if (older or behind) and not (position.jump_back or last_write_wins):
        return Outcome(progress=progress, accepted=False, conflict=True)
    _apply(progress, position=position, progression=progression, authority=authority, client_time=client_time,
           document=document, source=source, now=now)
    _announce(progress, now=now)
    return Outcome(progress=progress, accepted=True, conflict=False)


def _apply(progress: Progress, *, position: PositionIn, progression: float, authority: str,
           client_time: datetime, document: str, source: str, now: datetime) -> None:
    """Write the position on its row (the form not sent is kept, older) and into its history."""
    progress.progression, progress.authority, progress.source = progression, authority, source
    if position.locator is not None:
        progress.locator = position.locator
    if position.koreader_progress is not None:
        progress.koreader_progress = position.koreader_progress
    if document:
        progress.document = document
    progress.device, progress.device_id = position.device, position.device_id
    progress.client_time, progress.server_time = client_time, now
    progress.save()
    ProgressEntry.objects.create(progress=progress, **{f: getattr(progress, f) for f in _ENTRY_FIELDS})
    keep = settings.COKO_READING["HISTORY"]
    stale = list(ProgressEntry.objects.filter(progress=progress).order_by("-id").values_list("id", flat=True)
                 [keep:keep + 50])
    if stale:
        ProgressEntry.objects.filter(id__in=stale).delete()


def _announce(progress: Progress, *, now: datetime) -> None:
    """``reading.progressed`` when the reader moved on far enough or long enough since the last
    one (a throttle, not one per page turn); ``reading.completed`` once, at the end."""
    if progress.book_id is None:
        return
    rules = settings.COKO_READING
    user_id, book_id = str(progress.user_id), str(progress.book_id)
    moved = progress.progression - progress.announced_progression
    if moved > 0 and (moved >= rules["PROGRESSED_STEP"]
                      or now - progress.announced_at >= timedelta(seconds=rules["PROGRESSED_EVERY_S"])):
        publish(producer=DB, type=contracts.READING_PROGRESSED, aggregate_id=progress.id,
                payload=contracts.ReadingProgressed(user_id=user_id, book_id=book_id,
                                                    progression=progress.progression,
                                                    previous_progression=progress.announced_progression,
                                                    device=progress.device, at=now))
        progress.announced_progression, progress.announced_at = progress.progression, now
        progress.save(update_fields=["announced_progression", "announced_at"])
    if progress.completed_at is None and progress.progression >= rules["COMPLETED_AT"]:
        progress.completed_at = now
        progress.save(update_fields=["completed_at"])
        publish(producer=DB, type=contracts.READING_COMPLETED, aggregate_id=progress.id,
                payload=contracts.ReadingCompleted(user_id=user_id, book_id=book_id, completed_at=now))
