"""Pure rules of payments: periods, references. No models, no services (money as people read
it is the kernel's: ``coko.platform.money.display``)."""

from __future__ import annotations

import calendar
import secrets
from datetime import datetime, timedelta

_FIXED = {"day": timedelta(days=1), "week": timedelta(weeks=1)}


def period_end(*, start: datetime, period: str) -> datetime:
    """When a pass of ``period`` that starts at ``start`` ends: a day and a week are 24 h and
    7 × 24 h; a month and a year are calendar ones (31 January + 1 month = 28/29 February)."""
    if period in _FIXED:
        return start + _FIXED[period]
    months = {"month": 1, "year": 12}[period]
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def payment_reference() -> str:
    """Our reference of a payment at its provider: unique, 24 characters (Orange allows 30)."""
    return "ck" + secrets.token_hex(11)


def receipt_number(*, year: int, sequence: int) -> str:
    """``2026-000042``: the year and the receipt's place in it."""
    return f"{year}-{sequence:06d}"
