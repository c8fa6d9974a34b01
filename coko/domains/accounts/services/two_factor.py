"""Two-factor authentication: a TOTP authenticator (RFC 6238, ``pyotp``) and recovery codes.

Setting it up: ``two_factor_enrol`` makes a secret (encrypted at rest) and shows it once, as an
``otpauth://`` URI and in base32; ``two_factor_confirm`` turns it on with a first code and hands
out ten single-use recovery codes (kept as keyed hashes). Until confirmed it is not on.

Logging in with it on (``sessions.user_login``, ``sessions.two_factor_login``): a code is
accepted once, through ``second_factor_accept``: the time step it was accepted for is kept,
and a code of that step or an earlier one is refused (replay); a recovery code is spent.
"""

from __future__ import annotations

import secrets

import pyotp
from django.contrib.auth.hashers import check_password
from django.utils import timezone

from coko.platform import clock
from coko.platform.crypto import keyed_hash
from coko.platform.services import use_case

from .. import errors
from ..models import RecoveryCode, TwoFactor, User
from ._common import DB, Client, audit, limit

ISSUER = "Coko"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: read off paper


# --- reads and helpers ----------------------------------------------------------------------------------
def two_factor_on(user_id) -> bool:
    """Whether the account logs in with a second factor (enrolled and confirmed)."""
    return TwoFactor.objects.filter(user_id=user_id, confirmed_at__isnull=False).exists()


def _totp_step(secret: str, code: str, *, after: int) -> int | None:
    """The time step (of now, the one before or the one after: clock skew) whose code is
    ``code``, if later than ``after`` (the last step accepted: no replay); else None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(clock.time()) // totp.interval
    for step in (now_step, now_step - 1, now_step + 1):
        if step > after and secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _recovery_normal(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _recovery_hash(user_id, code: str) -> str:
    return keyed_hash(f"{user_id}:{_recovery_normal(code)}", purpose="accounts.recovery-code")


def _recovery_codes_issue(user: User) -> list[str]:
    """Ten fresh recovery codes (``xxxxx-xxxxx``, 50 bits each); the earlier ones stop working."""
    RecoveryCode.objects.filter(user=user).delete()
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    RecoveryCode.objects.bulk_create(RecoveryCode(user=user, code_hash=_recovery_hash(user.id, c)) for c in codes)
    return codes


def second_factor_accept(user: User, code: str, *, client: Client) -> str | None:
    """Spend ``code`` for ``user`` (inside the caller's transaction): ``"totp"`` or
    ``"recovery_code"`` if it is one, else None. The authenticator row is locked, so two
    requests with one code cannot both pass."""
    two_factor = TwoFactor.objects.select_for_update().filter(user=user, confirmed_at__isnull=False).first()
    if two_factor is None:
        return None
    step = _totp_step(two_factor.secret, code, after=two_factor.last_step)
    if step is not None:
        two_factor.last_step = step
        two_factor.save(update_fields=["last_step"])
        return "totp"
    if len(_recovery_normal(code)) != 10:
        return None
    recovery = (RecoveryCode.objects.select_for_update()
                .filter(user=user, code_hash=_recovery_hash(user.id, code), used_at__isnull=True).first())
    if recovery is None:
        return None
    recovery.used_at = timezone.now()
    recovery.save(update_fields=["used_at"])
    left = RecoveryCode.objects.filter(user=user, used_at__isnull=True).count()
    audit("2fa.recovery_code_used", user_id=user.id, client=client, left=left)
    return "recovery_code"


def _proof_check(user: User, *, password: str | None, code: str | None, client: Client) -> None:
    """The owner's proof for turning 2FA off or new recovery codes: a code, or the password."""
    if code:
        if second_factor_accept(user, code, client=client) is None:
            raise errors.INVALID_CODE(field="code")
    elif password:
        if not (user.has_usable_password() and check_password(password, user.password)):
            raise errors.INVALID_CREDENTIALS()
    else:
        raise errors.TWO_FACTOR_PROOF_REQUIRED(fields=["password", "code"])


# --- setting it up ------------------------------------------------------------------------------------------
@use_case(DB)
def two_factor_enrol(*, user_id: str, password: str | None, client: Client) -> tuple[str, str]:
    """Start setting up an authenticator: ``(secret in base32, otpauth:// URI)``, shown once.

    The account's password is asked for when it has one (a stolen access token alone cannot
    put an authenticator on someone's account). A new enrolment replaces an unconfirmed one.
    """
    limit("two_factor", user_id)
    user = User.objects.select_for_update().get(id=user_id)
    if two_factor_on(user.id):
        raise errors.TWO_FACTOR_ALREADY_ON()
    if user.has_usable_password() and not (password and check_password(password, user.password)):
        raise errors.INVALID_CREDENTIALS()
    secret = pyotp.random_base32()  # 160 bits
    TwoFactor.objects.update_or_create(user=user, defaults={"secret": secret, "confirmed_at": None, "last_step": 0})
    label = user.email or user.phone or str(user.id)
    return secret, pyotp.TOTP(secret).provisioning_uri(name=label, issuer_name=ISSUER)


@use_case(DB)
def two_factor_confirm(*, user_id: str, code: str, client: Client) -> list[str]:
    """Turn two-factor authentication on with a first code; the ten recovery codes, shown once."""
    limit("two_factor", user_id)
    user = User.objects.get(id=user_id)
    two_factor = TwoFactor.objects.select_for_update().filter(user=user).first()
    if two_factor is None:
        raise errors.TWO_FACTOR_NOT_ENROLLED()
    if two_factor.confirmed_at is not None:
        raise errors.TWO_FACTOR_ALREADY_ON()
    step = _totp_step(two_factor.secret, code, after=0)
    if step is None:
        raise errors.INVALID_CODE(field="code")
    two_factor.confirmed_at, two_factor.last_step = timezone.now(), step
    two_factor.save(update_fields=["confirmed_at", "last_step"])
    codes = _recovery_codes_issue(user)
    audit("2fa.enabled", user_id=user.id, client=client)
    return codes


@use_case(DB)
def two_factor_disable(*, user_id: str, password: str | None, code: str | None, client: Client) -> None:
    """Turn two-factor authentication off, with the password or a code (authenticator or recovery)."""
    limit("two_factor", user_id)
    user = User.objects.select_for_update().get(id=user_id)
    if not two_factor_on(user.id):
        raise errors.TWO_FACTOR_OFF()
    _proof_check(user, password=password, code=code, client=client)
    _two_factor_remove(user.id)
    audit("2fa.disabled", user_id=user.id, client=client, by="owner")


@use_case(DB)
def recovery_codes_regenerate(*, user_id: str, password: str | None, code: str | None,
                              client: Client) -> list[str]:
    """Ten new recovery codes (the earlier ones stop working), with the password or a code."""
    limit("two_factor", user_id)
    user = User.objects.select_for_update().get(id=user_id)
    if not two_factor_on(user.id):
        raise errors.TWO_FACTOR_OFF()
    _proof_check(user, password=password, code=code, client=client)
    codes = _recovery_codes_issue(user)
    audit("2fa.recovery_codes_regenerated", user_id=user.id, client=client)
    return codes


@use_case(DB)
def two_factor_reset(*, user_id, by_user_id, client: Client) -> bool:
    """Staff turn a user's two-factor authentication off (they lost their authenticator and
    their recovery codes); audited with who did it. False if it was not on or set up."""
    removed = _two_factor_remove(user_id)
    if removed:
        audit("2fa.reset_by_staff", user_id=user_id, client=client, by_user_id=str(by_user_id))
    return removed


def _two_factor_remove(user_id) -> bool:
    RecoveryCode.objects.filter(user_id=user_id).delete()
    return TwoFactor.objects.filter(user_id=user_id).delete()[0] > 0
