"""App passwords for e-reader apps (OPDS over HTTP Basic), and which passwords Basic accepts.

An app password is made here (``xxxx-xxxx-xxxx-xxxx-xxxx-xxxx``: 24 characters of 32, 120
bits), shown once and kept as a keyed hash: it is random, so a keyed hash is as safe as a slow
one, and Basic checks it with one indexed read instead of an Argon2 check per request.

HTTP Basic accepts the account's email or phone with one of its app passwords, always; with
its main password only while two-factor authentication is off (a password alone must not open
an account that asks for a second factor). A right app password is not held back by the login
lockout (like a known device: 120 random bits are not guessed, and someone else's failures must
not stop the owner's reading app); anything else goes through the login's checks, limits and
lockout (``sessions.credentials_verify``).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.utils import timezone

from coko.platform.crypto import keyed_hash
from coko.platform.services import use_case

from .. import errors
from ..models import AppPassword, User
from ..selectors import phone_e164, phone_hash
from ._common import DB, Client, audit
from .sessions import credentials_verify
from .two_factor import two_factor_on

APP_PASSWORDS_MAX = 20
#: How stale ``last_used_at`` may get: an e-reader walking a catalogue writes once a minute at most.
LAST_USED_EVERY = timedelta(minutes=1)
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
_LENGTH = 24


def _normal(password: str) -> str | None:
    """The app password typed (any case, dashes or spaces or none), or None if it cannot be one."""
    value = "".join(ch for ch in password.lower() if ch not in "- ")
    return value if len(value) == _LENGTH and all(ch in _ALPHABET for ch in value) else None


def _hash(normal: str) -> str:
    return keyed_hash(normal, purpose="accounts.app-password")


@use_case(DB)
def app_password_create(*, user_id: str, name: str, client: Client) -> tuple[AppPassword, str]:
    """A new app password named ``name``: the row and the password, shown this once."""
    user = User.objects.select_for_update().get(id=user_id)
    if AppPassword.objects.filter(user=user).count() >= APP_PASSWORDS_MAX:
        raise errors.APP_PASSWORD_LIMIT(limit=APP_PASSWORDS_MAX)
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
    app_password = AppPassword.objects.create(user=user, name=name.strip() or "App", secret_hash=_hash(raw))
    audit("app_password.created", user_id=user.id, client=client, app_password_id=str(app_password.id),
          name=app_password.name)
    return app_password, "-".join(raw[i:i + 4] for i in range(0, _LENGTH, 4))


@use_case(DB)
def app_password_revoke(*, user_id: str, app_password_id, client: Client) -> None:
    """Revoke one of the caller's app passwords (it stops working at once);
    ``app_password_not_found`` for any other id."""
    deleted, _rows = AppPassword.objects.filter(user_id=user_id, id=app_password_id).delete()
    if not deleted:
        raise errors.APP_PASSWORD_NOT_FOUND(app_password_id=str(app_password_id))
    audit("app_password.revoked", user_id=user_id, client=client, app_password_id=str(app_password_id))


def _names(user: User, identifier: str) -> bool:
    value = identifier.strip()
    if "@" in value:
        return user.email is not None and user.email == value.lower()
    e164 = phone_e164(value)
    return e164 is not None and user.phone_hash == phone_hash(e164)


def app_password_verify(*, identifier: str, password: str) -> User | None:
    """The account an identifier and one of its app passwords open, or None (then the caller
    checks the password as the account's own, under the login's limits and lockout)."""
    normal = _normal(password)
    if normal is None:
        return None
    app_password = AppPassword.objects.select_related("user").filter(secret_hash=_hash(normal)).first()
    if app_password is None:
        return None
    user = app_password.user
    if not (_names(user, identifier) and user.is_active and user.deletion_requested_at is None):
        return None
    now = timezone.now()
    if app_password.last_used_at is None or now - app_password.last_used_at >= LAST_USED_EVERY:
        _app_password_used(app_password_id=app_password.id, at=now)
    return user


@use_case(DB)
def _app_password_used(*, app_password_id, at) -> None:
    AppPassword.objects.filter(id=app_password_id).update(last_used_at=at)


def basic_password_verify(*, identifier: str, password: str, client: Client) -> User:
    """The account an identifier and its main password open over HTTP Basic: as
    ``credentials_verify``, and refused (``invalid_credentials``, audited) while the account
    has two-factor authentication on."""
    user = credentials_verify(identifier=identifier, password=password, client=client)
    if two_factor_on(user.id):
        _basic_password_refused(user_id=user.id, client=client)
        raise errors.INVALID_CREDENTIALS()
    return user


@use_case(DB)
def _basic_password_refused(*, user_id, client: Client) -> None:
    audit("basic.password_refused", user_id=user_id, client=client, reason="two_factor_on")
