"""Pure rules of reading positions: a Readium Locator checked as its schema says
(``../shared/specs/readium-locator/locator.schema.json``), the common ground between a
Locator and a KOReader position, and KOReader's document ids. No models, no services."""

from __future__ import annotations

import math
import re

from . import errors

#: How long a locator's strings may be (an href, a title, a CSS selector, a quote around it).
TEXT_MAX = 2000
_LOCATION_NUMBERS = ("progression", "totalProgression")
_LOCATION_STRINGS = ("cssSelector", "partialCfi")
_TEXT_KEYS = ("before", "highlight", "after")
_MEDIA_TYPE = re.compile(r"^[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*(\s*;.*)?$")
#: KOReader's ``document``: its partial MD5 of the file, or the md5 of the file's name (32 hex).
_KOREADER_DOCUMENT = re.compile(r"^[^:]{1,128}$")
_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")


def _bad(field: str, reason: str):
    return errors.INVALID_LOCATOR(field=field, reason=reason)


def _string(value, field: str, *, required: bool = False) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value.strip()):
        raise _bad(field, "a non-empty string" if required else "a string")
    if len(value) > TEXT_MAX:
        raise _bad(field, f"at most {TEXT_MAX} characters")


def progression_check(value, *, field: str) -> float:
    """``value`` as a progression: a finite number from 0 to 1 (``invalid_progression`` otherwise)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not 0 <= value <= 1:
        raise errors.INVALID_PROGRESSION(field=field)
    return float(value)


def locator_check(locator, *, for_progress: bool = True) -> dict:
    """A Readium Locator as the schema allows it, or ``invalid_locator`` naming the field.

    ``href`` (a URI reference without a fragment: fragments go in ``locations.fragments``)
    and ``type`` (a media type) are required; ``locations.progression`` and
    ``totalProgression`` are numbers from 0 to 1, ``position`` an integer from 1;
    ``fragments`` a list of strings; ``text`` holds strings. A position in a book (as
    opposed to a highlight) needs ``locations.progression`` (the Readium rule for EPUB).
    Unknown members are kept (the schema allows them); the answer is the locator as sent.
    """
    if not isinstance(locator, dict):
        raise _bad("locator", "an object")
    _string(locator.get("href"), "locator.href", required=True)
    href = locator["href"]
    if "#" in href or any(ch.isspace() for ch in href.strip()):
        raise _bad("locator.href", "a URI reference without a fragment or spaces")
    _string(locator.get("type"), "locator.type", required=True)
    if not _MEDIA_TYPE.match(locator["type"]):
        raise _bad("locator.type", "a media type")
    _string(locator.get("title"), "locator.title")
    locations = locator.get("locations")
    if locations is None:
        locations = {}
    if not isinstance(locations, dict):
        raise _bad("locator.locations", "an object")
    for key in _LOCATION_NUMBERS:
        if key in locations:
            progression_check(locations[key], field=f"locator.locations.{key}")
    if "position" in locations:
        position = locations["position"]
        if isinstance(position, bool) or not isinstance(position, int) or position < 1:
            raise _bad("locator.locations.position", "an integer from 1")
    if "fragments" in locations:
        fragments = locations["fragments"]
        if not isinstance(fragments, list) or len(fragments) > 20:
            raise _bad("locator.locations.fragments", "a list of strings")
        for fragment in fragments:
            _string(fragment, "locator.locations.fragments", required=True)
    for key in _LOCATION_STRINGS:
        _string(locations.get(key), f"locator.locations.{key}")
    text = locator.get("text")
    if text is not None:
        if not isinstance(text, dict):
            raise _bad("locator.text", "an object")
        for key in _TEXT_KEYS:
            _string(text.get(key), f"locator.text.{key}")
    if for_progress and "progression" not in locations:
        raise _bad("locator.locations.progression", "required for a reading position")
    return locator


def locator_total_progression(locator: dict | None) -> float | None:
    """The locator's ``locations.totalProgression``, the common ground with KOReader's percentage."""
    if not locator:
        return None
    return (locator.get("locations") or {}).get("totalProgression")


def koreader_document_valid(document) -> bool:
    """Whether ``document`` is one kosync accepts: a non-empty string without ':' (its id
    becomes a key; the reference server refuses ':')."""
    return isinstance(document, str) and bool(_KOREADER_DOCUMENT.match(document))


def koreader_md5_like(document: str) -> bool:
    """Whether a kosync ``document`` can be a partial MD5 (then it may match a book's file)."""
    return bool(_MD5.match(document))
