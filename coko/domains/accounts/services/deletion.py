"""Closing an account now, erasing its personal data after the grace period."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from coko.platform.events import publish
from coko.platform.services import use_case

from .. import contracts, errors
from ..models import AuditEvent, OneTimeCode, User
from ._common import DB, Client, audit
from .sessions import live_families, sessions_end

DELETION_GRACE = timedelta(days=30)


@use_case(DB)
def account_delete_request(*, user_id: str, password: str, client: Client) -> datetime:
    """Close the account now (no more logins, every session ends); personal data is
    erased after the grace period by ``accounts_erase_due``."""
    user = User.objects.select_for_update().get(id=user_id)
    if user.has_usable_password() and not user.check_password(password):
        raise errors.INVALID_CREDENTIALS()  # nothing written yet
    now = timezone.now()
    user.deletion_requested_at = now
    user.is_active = False
    user.save(update_fields=["deletion_requested_at", "is_active"])
    sessions_end(live_families(user.id))
    erase_after = now + DELETION_GRACE
    publish(producer=DB, type=contracts.USER_DELETED, aggregate_id=user.id,
            payload=contracts.UserDeleted(user_id=str(user.id), erase_after=erase_after))
    audit("account.deletion_requested", user_id=user.id, client=client)
    return erase_after


def accounts_erase_due(*, now: datetime | None = None) -> int:
    """Erase the personal fields of accounts whose grace period is over, one transaction
    each. Safe to rerun; returns how many were erased."""
    now = now or timezone.now()
    due = User.objects.filter(deletion_requested_at__lte=now - DELETION_GRACE, erased_at__isnull=True)
    return sum(account_erase(user_id=user_id, now=now) for user_id in list(due.values_list("id", flat=True)))


@use_case(DB)
def account_erase(*, user_id, now: datetime) -> bool:
    """Erase one closed account's personal data (whether it was erased already: False)."""
    user = User.objects.select_for_update().get(id=user_id)
    if user.erased_at is not None:
        return False
    user.email = None
    user.phone = None
    user.phone_hash = None
    user.display_name = ""
    user.country = ""
    user.avatar_file_id = None
    user.marketing_consent = False
    user.set_unusable_password()
    user.erased_at = now
    user.save()
    OneTimeCode.objects.filter(user=user).delete()
    user.groups.clear()
    AuditEvent.objects.create(action="account.erased", user_id=user.id)
    return True
