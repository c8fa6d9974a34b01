"""What the accounts use cases share: who is calling, rate limits, the audit log, input checks."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

from coko.platform.crypto import keyed_hash
from coko.platform.ratelimit import rate_limit_check

from .. import contracts, errors
from ..models import AuditEvent, User
from ..selectors import phone_e164

DB = "accounts"


@dataclass(frozen=True)
class Client:
    """Who is calling, for rate limits and the audit log."""

    ip: str | None = None
    user_agent: str = ""


def limit(name: str, subject) -> None:
    """Apply the rate limit ``name`` of settings.ACCOUNTS_RATE_LIMITS to ``subject`` (an IP, a user …)."""
    allowed, window_s = settings.ACCOUNTS_RATE_LIMITS[name]
    rate_limit_check(key=f"accounts:{name}:{subject}", limit=allowed, window_s=window_s)


def audit(action: str, *, user_id=None, client: Client, **details) -> None:
    """One line of the append-only audit log, in the caller's transaction."""
    AuditEvent.objects.create(action=action, user_id=user_id, ip=client.ip,
                              user_agent=client.user_agent[:300], details=details)


def role_group(role: str) -> Group:
    """The Django group that stands for one of the brief's roles (created on first use)."""
    return Group.objects.get_or_create(name=role)[0]


def phone_normalize(raw: str) -> str:
    """E.164, or ``invalid_phone``. Numbers without a country code are refused."""
    e164 = phone_e164(raw)
    if e164 is None:
        raise errors.INVALID_PHONE(field="phone")
    return e164


def email_normalize(raw: str) -> str:
    """Lower-cased and checked, or ``invalid_email``."""
    email = raw.strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise errors.INVALID_EMAIL(field="email") from None
    return email


def language_check(language: str) -> None:
    if language not in contracts.LANGUAGES:
        raise errors.INVALID_LANGUAGE(field="preferred_language", value=language)


def identifier_key(identifier: str) -> str:
    """A rate-limit key for what the client typed, whether or not an account has it."""
    return keyed_hash(identifier.strip().lower(), purpose="accounts.login-identifier")[:32]


def password_check_policy(password: str, user: User | None = None) -> None:
    """Django's password validators, or ``weak_password`` with their reasons."""
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise errors.WEAK_PASSWORD(field="password", reasons=[str(m) for m in exc.messages]) from None
