"""``Idempotency-Key`` on the POSTs that create orders or payments: the same key with the same
body answers the first answer again; with another body, 409 (Stripe's rule).

The key is claimed (a row with no answer yet) before the work, in its own transaction, so
two requests racing with one key cannot both do the work: the second is told the first is
still under way. Work that fails with an error releases the key (a retry may succeed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.db import IntegrityError

from coko.platform.services import use_case

from .. import errors
from ..models import IdempotentRequest
from ._shared import DB

KEY_MAX = 255


def _hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


@use_case(DB)
def _claim(*, user_id: UUID, key: str, route: str, body_hash: str) -> IdempotentRequest | None:
    """The earlier request of this key (None: claimed now, for this request)."""
    earlier = IdempotentRequest.objects.filter(user_id=user_id, route=route, key=key).first()
    if earlier is not None:
        return earlier
    IdempotentRequest.objects.create(user_id=user_id, route=route, key=key, body_hash=body_hash, status=0, response={})
    return None


@use_case(DB)
def _answer(*, user_id: UUID, key: str, route: str, status: int, response: Any) -> None:
    IdempotentRequest.objects.filter(user_id=user_id, route=route, key=key).update(status=status, response=response)


@use_case(DB)
def _release(*, user_id: UUID, key: str, route: str) -> None:
    IdempotentRequest.objects.filter(user_id=user_id, route=route, key=key, status=0).delete()


def idempotent(*, user_id: UUID, key: str | None, route: str, body: Any,
               work: Callable[[], tuple[int, Any]]) -> tuple[int, Any]:
    """``work()`` (→ ``(status, JSON-able answer)``) once per ``key``; without a key, every time."""
    if key is None:
        return work()
    if not key.strip() or len(key) > KEY_MAX:
        raise errors.INVALID_IDEMPOTENCY_KEY()
    body_hash = _hash(body)
    try:
        earlier = _claim(user_id=user_id, key=key, route=route, body_hash=body_hash)
    except IntegrityError:  # claimed by a racing request between our read and our insert
        earlier = IdempotentRequest.objects.filter(user_id=user_id, route=route, key=key).first()
    if earlier is not None:
        if earlier.body_hash != body_hash:
            raise errors.IDEMPOTENCY_KEY_REUSED()
        if earlier.status == 0:
            raise errors.REQUEST_IN_PROGRESS()
        return earlier.status, earlier.response
    try:
        status, response = work()
    except Exception:
        _release(user_id=user_id, key=key, route=route)
        raise
    _answer(user_id=user_id, key=key, route=route, status=status, response=response)
    return status, response
