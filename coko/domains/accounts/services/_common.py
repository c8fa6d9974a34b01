"""What the accounts use cases share: who is calling, rate limits, the audit log, input checks."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email

from coko.platform.crypto import keyed_hash
from coko.platform.http.client import client_ip
from coko.platform.ratelimit import rate_limit_check

from .. import contracts, errors
from ..models import AuditEvent, User
from ..selectors import phone_e164

DB = "accounts"
DEVICE_SALT = "coko.accounts.device"


#: The signed device token a successful password login hands out (cookie for browsers and the
#: admin console, header for apps); sent back on the next logins, it exempts that device from
#: the account lockout (README, "Lockouts").
DEVICE_COOKIE = "coko_device"
DEVICE_HEADER = "X-Coko-Device"


@dataclass(frozen=True)
class Client:
    """Who is calling, for rate limits, lockouts and the audit log.

    ``device`` is the device token the client sent back, as sent (unchecked).
    """

    ip: str | None = None
    user_agent: str = ""
    device: str | None = None

    @classmethod
    def from_request(cls, request) -> Client:
        """The caller of an HTTP request: its real address (``client_ip``, behind the gateway
        too), its user agent and its device token (header first, then cookie)."""
        device = request.headers.get(DEVICE_HEADER) or request.COOKIES.get(DEVICE_COOKIE)
        return cls(ip=client_ip(request), user_agent=request.headers.get("User-Agent", "")[:300],
                   device=device[:400] if device else None)


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
    """A rate-limit and lockout key for the account the client names, whether or not it exists.

    Keyed on the normalised account, not on the spelling: a phone number in any notation that
    could open the account is its E.164 form, an email is casefolded. Eight spellings of one
    number are one budget, not eight.
    """
    value = identifier.strip()
    normal = value.casefold() if "@" in value else (phone_e164(value) or value.casefold())
    return keyed_hash(normal, purpose="accounts.login-identifier")[:32]


def _device_account(user_id) -> str:
    return keyed_hash(str(user_id), purpose="accounts.device")[:22]


def device_token_issue(*, user_id, device_id: str | None = None) -> tuple[str, str]:
    """``(token, device_id)``: a signed token naming this device for this account (a fresh
    device id unless given). The account is a keyed hash: the token reveals no user id."""
    device_id = device_id or secrets.token_urlsafe(16)
    return signing.dumps({"a": _device_account(user_id), "d": device_id}, salt=DEVICE_SALT), device_id


def device_known(token: str | None, *, user_id) -> str | None:
    """The device id of a valid, unexpired device token issued for ``user_id``; else None."""
    if not token:
        return None
    try:
        data = signing.loads(token, salt=DEVICE_SALT, max_age=settings.ACCOUNTS_DEVICE_MAX_AGE_S)
    except signing.BadSignature:  # SignatureExpired included
        return None
    if not isinstance(data, dict) or data.get("a") != _device_account(user_id):
        return None
    device_id = data.get("d")
    return device_id if isinstance(device_id, str) and 0 < len(device_id) <= 64 else None


def password_check_policy(password: str, user: User | None = None) -> None:
    """Django's password validators, or ``weak_password`` with their reasons."""
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise errors.WEAK_PASSWORD(field="password", reasons=[str(m) for m in exc.messages]) from None
