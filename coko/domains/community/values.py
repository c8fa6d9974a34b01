"""Pure rules of the community domain: no models, no services."""

from __future__ import annotations

import re

from . import errors
from .contracts import RATING_MAX, RATING_MIN

_LANGUAGE = re.compile(r"[a-z]{2,3}")


def rating_checked(rating) -> int:
    """``rating`` if it is a whole number from 1 to 5, or ``review_rating_invalid``."""
    if type(rating) is not int or not RATING_MIN <= rating <= RATING_MAX:
        raise errors.REVIEW_RATING_INVALID(rating=rating if isinstance(rating, int | float | str) else None)
    return rating


def language_checked(language: str) -> str:
    """An ISO 639 code in lower case (``fr``, ``wo``, ``ff``), or ``review_language_invalid``."""
    code = (language or "").strip().lower()
    if not _LANGUAGE.fullmatch(code):
        raise errors.REVIEW_LANGUAGE_INVALID(language=language)
    return code
