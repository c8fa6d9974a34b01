"""Keyset pages: a cursor names the last row shown, so a page stays right while people post.

An order runs one way on all its keys (descending: most helpful, newest, best rated; ascending:
a thread's posts, oldest first), the id last as the tie-breaker; the next page is the rows
strictly after the cursor's.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import Q, QuerySet

from .. import errors

def _bool(value) -> bool:
    if type(value) is not bool:
        raise ValueError("not a boolean")
    return value


_PARSE = {"int": int, "bool": _bool, "datetime": datetime.fromisoformat, "uuid": UUID}


@dataclass(frozen=True)
class Key:
    """An order on ``fields`` (descending, or ascending), each parsed from a cursor by ``kinds``
    (int, bool, datetime, uuid)."""

    name: str
    fields: tuple[str, ...]
    kinds: tuple[str, ...]
    descending: bool = True

    def order_by(self) -> list[str]:
        return [("-" if self.descending else "") + f for f in self.fields]


@dataclass(frozen=True)
class Page:
    """One page of rows and the cursor of the next (None: the last page)."""

    items: list[Any]
    next_cursor: str | None


def cursor_encode(*, key: Key, row) -> str:
    """The cursor just after ``row`` in ``key``'s order."""
    parts = [key.name] + [_plain(getattr(row, f)) for f in key.fields]
    return base64.urlsafe_b64encode(json.dumps(parts, separators=(",", ":")).encode()).decode().rstrip("=")


def _plain(value) -> str | int:
    return value if type(value) in (int, bool) else (value.isoformat() if isinstance(value, datetime) else str(value))


def cursor_decode(*, key: Key, cursor: str) -> tuple:
    """The values a cursor of ``key``'s order names, or ``invalid_page_cursor``."""
    try:
        name, *raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if name != key.name or len(raw) != len(key.fields):
            raise ValueError("a cursor of another order")
        return tuple(_PARSE[kind](value) for kind, value in zip(key.kinds, raw, strict=True))
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise errors.INVALID_PAGE_CURSOR(cursor=cursor) from exc


def _after(key: Key, values: tuple) -> Q:
    """Rows strictly after ``values`` in ``key``'s order."""
    condition, beyond = Q(), "lt" if key.descending else "gt"
    for i, field in enumerate(key.fields):
        step = Q(**{f"{field}__{beyond}": values[i]}, **dict(zip(key.fields[:i], values[:i], strict=True)))
        condition = step if i == 0 else condition | step
    return condition


def page(rows: QuerySet, *, key: Key, limit: int, cursor: str | None) -> Page:
    """``limit`` rows of ``rows`` in ``key``'s order, after ``cursor``: one query."""
    if cursor:
        rows = rows.filter(_after(key, cursor_decode(key=key, cursor=cursor)))
    items = list(rows.order_by(*key.order_by())[: limit + 1])
    more = len(items) > limit
    items = items[:limit]
    return Page(items=items, next_cursor=cursor_encode(key=key, row=items[-1]) if more and items else None)
