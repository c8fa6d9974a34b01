"""Frozen data the reading domain shares: facade results and event payloads.

No Django imports here: contracts must be importable by an extracted service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from coko.platform.contracts import EventPayload

# --- vocabularies ---------------------------------------------------------------------------------
#: Which form of a stored position is the one its client wrote (the other, if any, is derived
#: or older): a Readium Locator (web, phone) or a KOReader position (XPointer or page).
POSITION_FORMS = ("locator", "koreader")
#: Through which door a position came.
POSITION_SOURCES = ("api", "kosync")


# --- facade results -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Position:
    """A reader's place in one book: what the client sent, and the common ground
    (``progression``: 0–1 through the whole book, the Locator's ``totalProgression`` or
    KOReader's ``percentage``)."""

    user_id: str
    book_id: str | None  # None: a KOReader document no book's file matches
    document: str  # the KOReader document id last used for it ("" if none)
    progression: float
    authority: str  # one of POSITION_FORMS
    locator: dict | None
    koreader_progress: str
    device: str
    device_id: str
    client_time: datetime
    server_time: datetime
    completed: bool


# --- events reading publishes (payload version 1) -------------------------------------------------
READING_STARTED = "reading.started"
READING_PROGRESSED = "reading.progressed"
READING_COMPLETED = "reading.completed"


@dataclass(frozen=True)
class ReadingStarted(EventPayload):
    """``reading.started``: the first position a reader stored in a book."""

    user_id: str
    book_id: str
    progression: float
    device: str
    started_at: datetime


@dataclass(frozen=True)
class ReadingProgressed(EventPayload):
    """``reading.progressed``: a reader moved on in a book. Throttled: one per
    ``COKO_READING["PROGRESSED_STEP"]`` of the book or ``PROGRESSED_EVERY_S``, not one per page turn."""

    user_id: str
    book_id: str
    progression: float
    previous_progression: float
    device: str
    at: datetime


@dataclass(frozen=True)
class ReadingCompleted(EventPayload):
    """``reading.completed``: the reader reached the end of a book (the brief's ``book.completed``)."""

    user_id: str
    book_id: str
    completed_at: datetime


EVENTS: dict[str, type[EventPayload]] = {
    READING_STARTED: ReadingStarted,
    READING_PROGRESSED: ReadingProgressed,
    READING_COMPLETED: ReadingCompleted,
}
