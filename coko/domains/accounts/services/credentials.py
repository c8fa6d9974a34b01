"""One-time codes: proving an email or phone, resetting a forgotten password; changing a password.

Password reset and its confirmation do not tell whether an account has the identifier,
by answer or by time: an unknown identifier takes the same path as a known one — the
same transaction, the same keyed hashing and encryption of a (dummy) code, the same
queries, one audit line — and gets the same answer (202; ``invalid_code`` for a code
that does not open the account, whatever the new password is). Verification needs a
signed-in account, so it names no other account.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from django.utils import timezone

from coko.platform.channels import channel_configured
from coko.platform.crypto import field_encrypt, keyed_hash
from coko.platform.events import publish
from coko.platform.services import use_case

from .. import contracts, errors
from ..models import OneTimeCode, SignupCode, User
from ..selectors import user_by_identifier
from ._common import DB, Client, audit, identifier_key, limit, password_check_policy
from .sessions import account_lockout_clear, live_families, sessions_end

CODE_TTL = timedelta(minutes=15)
CODE_MAX_ATTEMPTS = 5
_CODE_EVENTS = {
    "verify_email": contracts.VERIFICATION_REQUESTED,
    "verify_phone": contracts.VERIFICATION_REQUESTED,
    "password_reset": contracts.PASSWORD_RESET_REQUESTED,
}


# --- inside a caller's transaction -------------------------------------------------------------------
def _code_issue(user: User, *, purpose: str, channel: str) -> None:
    """A fresh code for ``purpose`` (earlier ones stop working), sent through an event."""
    code = code_new()
    now = timezone.now()
    OneTimeCode.objects.filter(user=user, purpose=purpose, consumed_at__isnull=True).update(consumed_at=now)
    OneTimeCode.objects.create(user=user, purpose=purpose, expires_at=now + CODE_TTL,
                               code_hash=keyed_hash(f"{user.id}:{code}", purpose=f"accounts.{purpose}"))
    publish(producer=DB, type=_CODE_EVENTS[purpose], aggregate_id=user.id, payload=contracts.CodeRequested(
        user_id=str(user.id), purpose=purpose, channel=channel, code_encrypted=field_encrypt(code),
        expires_at=now + CODE_TTL, language=user.preferred_language))


def _code_issue_nobody(*, purpose: str) -> None:
    """What ``_code_issue`` costs, for no account: the same hashing and encryption, and as
    many round trips to the database (the update, then two reads standing in for the code's
    and the event's inserts); nothing is written."""
    code = code_new()
    now = timezone.now()
    OneTimeCode.objects.filter(user_id=None, purpose=purpose, consumed_at__isnull=True).update(consumed_at=now)
    keyed_hash(f"{uuid.uuid4()}:{code}", purpose=f"accounts.{purpose}")
    field_encrypt(code)
    OneTimeCode.objects.filter(pk=-1).exists()
    OneTimeCode.objects.filter(pk=-2).exists()


def _code_consume(user: User | None, *, purpose: str, code: str) -> bool:
    """Whether ``code`` is the live code for ``purpose`` (spent now); a wrong one counts an attempt.
    ``user`` None (no such account) takes the same queries and hashing, and is always False."""
    candidate = (OneTimeCode.objects.select_for_update()
                 .filter(user_id=user.id if user else None, purpose=purpose, consumed_at__isnull=True,
                         expires_at__gt=timezone.now())
                 .order_by("-id").first())
    expected = keyed_hash(f"{user.id if user else uuid.uuid4()}:{code.strip()}", purpose=f"accounts.{purpose}")
    return user is not None and code_attempt(candidate, expected=expected)


def code_new() -> str:
    """A fresh six-digit one-time code."""
    return f"{secrets.randbelow(10**6):06d}"


def code_attempt(candidate: OneTimeCode | SignupCode | None, *, expected: str) -> bool:
    """Whether ``expected`` (the keyed hash of the code the client sent) opens ``candidate``,
    the live code row read for update (None: there is none), compared in constant time.
    A right code is spent; a wrong one counts an attempt; past the cap, none opens it."""
    if candidate is None or candidate.attempts >= CODE_MAX_ATTEMPTS:
        return False
    if not secrets.compare_digest(expected, candidate.code_hash):
        type(candidate).objects.filter(id=candidate.id).update(attempts=candidate.attempts + 1)
        return False
    candidate.consumed_at = timezone.now()
    candidate.save(update_fields=["consumed_at"])
    return True


# --- verification ------------------------------------------------------------------------------------
@use_case(DB)
def verification_request(*, user_id: str, channel: str, client: Client) -> None:
    """Send a code to prove the account's email (channel ``email``) or phone (``sms``)."""
    limit("verify_user", user_id)
    user = User.objects.get(id=user_id)
    if channel == "email" and not user.email or channel == "sms" and not user.phone_hash:
        raise errors.NO_DESTINATION(field="channel")
    if not channel_configured(channel):
        raise errors.CHANNEL_NOT_CONFIGURED(channels=[channel])
    _code_issue(user, purpose="verify_email" if channel == "email" else "verify_phone", channel=channel)
    audit("verification.requested", user_id=user.id, client=client, channel=channel)


def verification_confirm(*, user_id: str, channel: str, code: str, client: Client) -> None:
    """Mark the email or phone proven with the code sent to it."""
    limit("verify_confirm", user_id)
    if not _verification_code_apply(user_id=user_id, channel=channel, code=code, client=client):
        raise errors.INVALID_CODE(field="code")  # after the commit: the wrong attempt counts


@use_case(DB)
def _verification_code_apply(*, user_id: str, channel: str, code: str, client: Client) -> bool:
    user = User.objects.select_for_update().get(id=user_id)
    if not _code_consume(user, purpose="verify_email" if channel == "email" else "verify_phone", code=code):
        return False
    setattr(user, "email_verified_at" if channel == "email" else "phone_verified_at", timezone.now())
    user.save()
    audit("verification.confirmed", user_id=user.id, client=client, channel=channel)
    return True


# --- password reset and change ------------------------------------------------------------------------
def password_reset_request(*, identifier: str, client: Client) -> None:
    """Send a reset code if an account has this identifier. Says nothing either way, and
    takes the same time either way (see the module docstring)."""
    limit("reset_ip", client.ip)
    key = identifier_key(identifier)
    limit("reset_identifier", key)
    user = user_by_identifier(identifier=identifier)
    if user is None or not user.is_active or user.deletion_requested_at is not None:
        user = None
        channel = "email"
    else:
        channel = "email" if user.email and "@" in identifier else ("sms" if user.phone_hash else "email")
    _password_reset_code_send(user=user, channel=channel, identifier_key=key, client=client)


@use_case(DB)
def _password_reset_code_send(*, user: User | None, channel: str, identifier_key: str, client: Client) -> None:
    if user is None:
        _code_issue_nobody(purpose="password_reset")
        audit("password_reset.requested", user_id=None, client=client, identifier_key=identifier_key)
        return
    _code_issue(user, purpose="password_reset", channel=channel)
    audit("password_reset.requested", user_id=user.id, client=client, identifier_key=identifier_key)


def password_reset_confirm(*, identifier: str, code: str, new_password: str, client: Client) -> None:
    """Set a new password with a reset code; every session of the account ends and the
    account's login lockout is lifted (the reader proved the address and chose a new
    password: they are not left locked out with it).

    The policy is checked first against what the client typed (the same for a known and
    an unknown identifier), and against the account only once the code has opened it:
    a ``weak_password`` never tells that an account exists.
    """
    limit("reset_confirm", identifier_key(identifier))
    value = identifier.strip()
    password_check_policy(new_password, User(email=value.lower() if "@" in value else None))
    user = user_by_identifier(identifier=identifier)
    if not _password_reset_apply(user_id=user.id if user else None, code=code, new_password=new_password,
                                 client=client):
        raise errors.INVALID_CODE(field="code")  # after the commit: the wrong attempt counts
    account_lockout_clear(user)


@use_case(DB)
def _password_reset_apply(*, user_id, code: str, new_password: str, client: Client) -> bool:
    user = User.objects.select_for_update().filter(id=user_id).first() if user_id else None
    if user is None:
        User.objects.select_for_update().filter(pk=None).first()  # the same query, for nobody
    if not _code_consume(user, purpose="password_reset", code=code):
        return False
    password_check_policy(new_password, user)  # refused: rolled back, the code stays usable
    user.set_password(new_password)
    user.save(update_fields=["password", "kosync_key"])
    sessions_end(live_families(user.id))
    audit("password.reset", user_id=user.id, client=client)
    return True


def password_change(*, user_id: str, session_id: str, current_password: str, new_password: str,
                    client: Client) -> None:
    """Change the password; every other session of the account ends."""
    limit("password_change", user_id)
    if not _password_change_apply(user_id=user_id, session_id=session_id, current_password=current_password,
                                  new_password=new_password, client=client):
        raise errors.INVALID_CREDENTIALS()  # after the commit: the refusal stays in the audit log


@use_case(DB)
def _password_change_apply(*, user_id: str, session_id: str, current_password: str, new_password: str,
                           client: Client) -> bool:
    user = User.objects.select_for_update().get(id=user_id)
    if not user.check_password(current_password):
        audit("password.change_refused", user_id=user.id, client=client)
        return False
    password_check_policy(new_password, user)
    user.set_password(new_password)
    user.save(update_fields=["password", "kosync_key"])
    sessions_end(live_families(user.id) - {uuid.UUID(session_id)})
    audit("password.changed", user_id=user.id, client=client)
    return True
