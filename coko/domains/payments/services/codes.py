"""Institution access: staff make a batch of codes for an organisation and a plan; a reader
redeems one for a period of that plan. A code may serve ``uses_per_code`` readers, once each."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from coko.platform import clock
from coko.platform.crypto import keyed_hash
from coko.platform.services import use_case

from .. import errors
from ..models import AccessCode, CodeBatch, CodeRedemption, Plan, Subscription
from ._shared import DB
from .passes import pass_grant

#: No 0/O, 1/I/L: codes are read aloud and typed on phones.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
BATCH_MAX = 10_000


def code_normalise(code: str) -> str:
    """``abcd-efgh jklm`` → ``ABCDEFGHJKLM``: case, spaces and hyphens do not matter."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _code_hash(normalised: str) -> str:
    return keyed_hash(normalised, purpose="payments.access_code")


def _new_code() -> str:
    raw = "".join(secrets.choice(ALPHABET) for _ in range(12))
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


@dataclass(frozen=True)
class NewBatch:
    batch: CodeBatch
    codes: list[str]  # shown to staff (and kept encrypted in the batch)


def code_batch_make(*, actor_id: UUID, organisation: str, plan_slug: str, count: int,
                    uses_per_code: int = 1, expires_at: datetime | None = None) -> NewBatch:
    """``count`` codes (60 bits of entropy each) for ``organisation`` opening ``plan_slug``.

    Not a use case: runs inside the caller's transaction (the console's form); the API's
    door is ``code_batch_create``."""
    plan = Plan.objects.filter(slug=plan_slug).first()
    if plan is None:
        raise errors.PLAN_NOT_FOUND(plan=plan_slug)
    if not 1 <= count <= BATCH_MAX or uses_per_code < 1:
        raise ValueError(f"count must be 1..{BATCH_MAX} and uses_per_code at least 1")
    batch = CodeBatch.objects.create(organisation=organisation.strip()[:200], plan=plan, uses_per_code=uses_per_code,
                                     expires_at=expires_at, created_by=actor_id)
    codes = [_new_code() for _ in range(count)]
    AccessCode.objects.bulk_create([AccessCode(batch=batch, code=code, code_hash=_code_hash(code_normalise(code)))
                                    for code in codes])
    return NewBatch(batch=batch, codes=codes)


@use_case(DB)
def code_batch_create(*, actor_id: UUID, organisation: str, plan_slug: str, count: int,
                      uses_per_code: int = 1, expires_at: datetime | None = None) -> NewBatch:
    """``code_batch_make`` in a transaction of its own."""
    return code_batch_make(actor_id=actor_id, organisation=organisation, plan_slug=plan_slug, count=count,
                           uses_per_code=uses_per_code, expires_at=expires_at)


@use_case(DB)
def code_redeem(*, user_id: UUID, code: str) -> Subscription:
    """A period of the code's plan for ``user_id``; the same answer for an unknown, expired or
    used-up code (no enumeration; the edge rate-limits tries)."""
    access = (AccessCode.objects.select_for_update().select_related("batch__plan")
              .filter(code_hash=_code_hash(code_normalise(code))).first())
    if access is None or (access.batch.expires_at and access.batch.expires_at <= clock.now()):
        raise errors.ACCESS_CODE_INVALID()
    if CodeRedemption.objects.filter(code=access, user_id=user_id).exists():
        raise errors.ACCESS_CODE_ALREADY_REDEEMED()
    if access.uses >= access.batch.uses_per_code:
        raise errors.ACCESS_CODE_INVALID()
    access.uses += 1
    access.save(update_fields=["uses"])
    subscription = pass_grant(user_id=user_id, plan=access.batch.plan, source="code")
    CodeRedemption.objects.create(code=access, user_id=user_id, subscription=subscription)
    return subscription
