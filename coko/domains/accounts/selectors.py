"""Accounts reads."""

from __future__ import annotations

import re

import phonenumbers
from django.contrib.auth.models import Permission
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from coko.platform.crypto import keyed_hash

from .contracts import ROLE_PERMISSIONS
from .models import AppPassword, RecoveryCode, RefreshToken, SignupCode, TwoFactor, User


def user_get(*, user_id) -> User | None:
    return User.objects.filter(id=user_id).first()


def signup_code_get(*, signup_id) -> SignupCode | None:
    """A sign-up code row (``signup_id`` is its id; anything else finds nothing)."""
    return SignupCode.objects.filter(id=int(signup_id)).first() if str(signup_id).isdigit() else None


def phone_e164(raw: str) -> str | None:
    """``raw`` in E.164 (``+221771234567``), or None if it is not a valid number with its country code."""
    try:
        number = phonenumbers.parse(raw.strip(), None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_hash(e164: str) -> str:
    """The keyed hash that finds an account by its (encrypted) phone number."""
    return keyed_hash(e164, purpose="accounts.phone")


def phone_typed_e164(text: str) -> str | None:
    """The number staff typed, in any usual spelling ("+221 77 123 45 67", "00221 77…",
    "221-77-123-45-67"), in E.164; None if it is not a valid number with its country code."""
    value = re.sub(r"[\s().\-/]", "", text)
    if value.startswith("00"):
        value = "+" + value[2:]
    elif value.isdigit():
        value = "+" + value
    return phone_e164(value) if value[1:].isdigit() else None


def phone_readable(e164: str | None) -> str:
    """A stored (E.164) number as people read it aloud: "+221 77 123 45 67"."""
    if not e164:
        return ""
    return phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def phone_masked(e164: str | None) -> str:
    """A phone number with its middle hidden ("+22177•••••67"), for lists."""
    if not e164:
        return ""
    return e164[:6] + "•" * max(0, len(e164) - 8) + e164[-2:]


def user_by_identifier(*, identifier: str) -> User | None:
    """The account whose email or mobile number (any usual notation) this is."""
    value = identifier.strip()
    if "@" in value:
        return User.objects.filter(email=value.lower()).first()
    e164 = phone_e164(value)
    if e164 is None:
        return None
    return User.objects.filter(phone_hash=phone_hash(e164)).first()


def roles_for_user(*, user: User) -> set[str]:
    roles = set(user.groups.values_list("name", flat=True)) if user.pk else set()
    if user.is_superuser:
        roles.add("admin")
    return roles & set(ROLE_PERMISSIONS)


def permissions_for_user(*, user: User) -> set[str]:
    """The brief's RBAC: the union of the roles' permissions (``*`` for admin), plus
    any permission staff granted the user directly in the admin console."""
    permissions: set[str] = set()
    for role in roles_for_user(user=user):
        permissions |= ROLE_PERMISSIONS[role]
    direct = (Permission.objects.filter(user=user, content_type__app_label="accounts")
              .values_list("codename", flat=True)) if user.pk else []
    return permissions | set(direct)


def object_permission_held(*, user: User, permission: str, kind: str, object_id: str) -> bool:
    """Whether ``user`` was granted ``permission`` on object ``object_id`` of ``kind``
    (``"<app_label>.<model>"``), through django-guardian's table."""
    from django.contrib.contenttypes.models import ContentType
    from guardian.models import UserObjectPermission

    app_label, _, model = kind.partition(".")
    content_type = ContentType.objects.filter(app_label=app_label, model=model).first()
    if content_type is None:
        return False
    return UserObjectPermission.objects.filter(
        user=user, content_type=content_type, object_pk=str(object_id),
        permission__codename=permission, permission__content_type=content_type,
    ).exists()


def sessions_of_user(*, user_id) -> list[RefreshToken]:
    """The user's live sessions, most recently used first: the live refresh token of each
    (its ``family_id`` is the session id; ``created_at`` when it last got tokens, with the
    address and user agent of then), annotated ``started_at`` (the session's first token)."""
    started = (RefreshToken.objects.filter(family_id=OuterRef("family_id")).order_by("created_at")
               .values("created_at")[:1])
    return list(RefreshToken.objects
                .filter(user_id=user_id, revoked_at__isnull=True, used_at__isnull=True,
                        expires_at__gt=timezone.now())
                .annotate(started_at=Subquery(started)).order_by("-created_at", "-id"))


def app_passwords_of_user(*, user_id) -> list[AppPassword]:
    return list(AppPassword.objects.filter(user_id=user_id).order_by("-created_at"))


def two_factor_state(*, user_id) -> tuple[TwoFactor | None, int]:
    """The user's authenticator row (None: never set up) and how many recovery codes are unused."""
    two_factor = TwoFactor.objects.filter(user_id=user_id).first()
    left = RecoveryCode.objects.filter(user_id=user_id, used_at__isnull=True).count() if two_factor else 0
    return two_factor, left
