"""Per-request (or per-message) context: the request id doubles as the trace id."""

from __future__ import annotations

import re
import uuid
from contextvars import ContextVar

request_id_var: ContextVar[str | None] = ContextVar("coko_request_id", default=None)

_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def new_id() -> str:
    return uuid.uuid4().hex


def clean_request_id(candidate: str | None) -> str:
    """Accept a caller's X-Request-ID if it is sane, else mint one."""
    if candidate and _VALID_ID.fullmatch(candidate):
        return candidate
    return new_id()


def current_trace_id() -> str:
    """The trace id of the work in progress (a new one outside any request)."""
    return request_id_var.get() or new_id()
