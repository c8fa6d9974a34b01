"""Verify-first sign-up with a password, and the one place that announces a new account.

Sign-up does not tell whether an address has an account, by answer or by time (OWASP's
authentication cheat sheet). ``registration_start`` answers the same for every address and
does the same work for each — one sign-up code row (the address's keyed hash, the address
encrypted, a code's keyed hash), the same encryption of a code, one outbox event, one audit
line — but a new address is sent its code (``signup.code_requested``) while the owner of a
taken one is told that someone tried (``signup.address_taken``) and is sent no code.
``user_register`` opens the account only with the code sent to the address: a taken address
never got one, so it fails as any wrong code does (``invalid_code``), and so does an address
taken between the code and the confirmation (a race).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from coko.platform import clock
from coko.platform.crypto import field_encrypt, keyed_hash
from coko.platform.events import publish
from coko.platform.services import use_case

from .. import contracts, errors
from ..models import SignupCode, User
from ..selectors import phone_hash
from ._common import (
    DB,
    Client,
    audit,
    email_normalize,
    identifier_key,
    language_check,
    limit,
    password_check_policy,
    phone_normalize,
    role_group,
)
from .credentials import CODE_TTL, code_attempt, code_new
from .sessions import TokenPair, session_start


def user_registered_payload(user: User, *, via: str) -> contracts.UserRegistered:
    """The ``user.registered`` payload of a new account: the facts, never the addresses."""
    return contracts.UserRegistered(
        user_id=str(user.id), display_name=user.display_name, preferred_language=user.preferred_language,
        country=user.country, has_email=bool(user.email), has_phone=bool(user.phone_hash),
        marketing_consent=user.marketing_consent, via=via)


def account_open(user: User, *, via: str, client: Client) -> None:
    """Give a just-saved account the ``user`` role, announce it and audit it.

    Not a use case: runs inside the caller's transaction (password or social registration).
    """
    user.groups.add(role_group("user"))
    publish(producer=DB, type=contracts.USER_REGISTERED, aggregate_id=user.id,
            payload=user_registered_payload(user, via=via))
    audit("user.registered", user_id=user.id, client=client, via=via)


def _address(*, email: str | None, phone: str | None) -> tuple[str, str]:
    """``(channel, address)`` of the one address a sign-up names: ``email`` and the address
    lower-cased, or ``sms`` and the number in E.164."""
    if not email and not phone:
        raise errors.LOGIN_REQUIRED(fields=["email", "phone"])
    if email and phone:
        raise errors.ONE_ADDRESS(fields=["email", "phone"])
    return ("email", email_normalize(email)) if email else ("sms", phone_normalize(phone))


def _address_hash(address: str) -> str:
    return keyed_hash(address, purpose="accounts.signup-address")


def _code_hash(address_hash: str, code: str) -> str:
    return keyed_hash(f"{address_hash}:{code}", purpose="accounts.signup")


# --- step 1: a code to the address ------------------------------------------------------------------
def registration_start(*, email: str | None = None, phone: str | None = None, preferred_language: str = "fr",
                       client: Client) -> timedelta:
    """Send a sign-up code to the address (or, if it has an account, tell its owner that
    someone tried). Says nothing either way, and takes the same time; the code's lifetime."""
    limit("register_ip", client.ip)
    channel, address = _address(email=email, phone=phone)
    language_check(preferred_language)
    limit("register_address", identifier_key(address))
    _signup_code_send(channel=channel, address=address, language=preferred_language, client=client)
    return CODE_TTL


@use_case(DB)
def _signup_code_send(*, channel: str, address: str, language: str, client: Client) -> None:
    owner = (User.objects.filter(email=address) if channel == "email"
             else User.objects.filter(phone_hash=phone_hash(address))).only("id").first()
    digest, code, now = _address_hash(address), code_new(), clock.now()
    SignupCode.objects.filter(address_hash=digest, consumed_at__isnull=True).update(consumed_at=now)
    # A taken address gets a row too, with a code nobody is sent: the same writes, and its
    # confirmation fails as a wrong code does.
    signup = SignupCode.objects.create(address_hash=digest, channel=channel, address=address, language=language,
                                       code_hash=_code_hash(digest, code), expires_at=now + CODE_TTL)
    code_encrypted = field_encrypt(code)
    if owner is None:
        publish(producer=DB, type=contracts.SIGNUP_CODE_REQUESTED, aggregate_id=digest,
                payload=contracts.SignupCodeRequested(signup_id=str(signup.id), channel=channel,
                                                      code_encrypted=code_encrypted,
                                                      expires_at=signup.expires_at, language=language))
    else:
        publish(producer=DB, type=contracts.SIGNUP_ADDRESS_TAKEN, aggregate_id=digest,
                payload=contracts.SignupAddressTaken(user_id=str(owner.id), channel=channel))
    audit("registration.started", user_id=owner.id if owner else None, client=client, channel=channel,
          address_key=identifier_key(address))


# --- step 2: the code, and the account ----------------------------------------------------------------
def user_register(*, code: str, password: str, email: str | None = None, phone: str | None = None,
                  display_name: str = "", preferred_language: str = "fr", country: str = "",
                  marketing_consent: bool = False, client: Client) -> tuple[User, TokenPair]:
    """Open the account whose address the code sent by ``registration_start`` proves (created
    verified), give it the ``user`` role, open a session.

    The input and the password policy are checked first, against what the client typed (the
    same for every address); then a code that does not open a new account — wrong, expired,
    spent, past its attempts, or for an address with an account — is ``invalid_code``.
    """
    channel, address = _address(email=email, phone=phone)
    limit("register_confirm", identifier_key(address))
    language_check(preferred_language)
    password_check_policy(password, User(email=address if channel == "email" else None, display_name=display_name))
    opened = _signup_apply(channel=channel, address=address, code=code, password=password, client=client, profile={
        "display_name": display_name.strip()[:120], "preferred_language": preferred_language,
        "country": country.upper()[:2], "marketing_consent": marketing_consent})
    if opened is None:
        raise errors.INVALID_CODE(field="code")  # after the commit: the wrong attempt counts
    return opened


@use_case(DB)
def _signup_apply(*, channel: str, address: str, code: str, password: str, profile: dict,
                  client: Client) -> tuple[User, TokenPair] | None:
    digest = _address_hash(address)
    candidate = (SignupCode.objects.select_for_update()
                 .filter(address_hash=digest, consumed_at__isnull=True, expires_at__gt=clock.now())
                 .order_by("-id").first())
    if not code_attempt(candidate, expected=_code_hash(digest, code.strip())):
        return None
    now = clock.now()
    user = User(**profile)
    if channel == "email":
        user.email, user.email_verified_at = address, now
    else:
        user.phone, user.phone_hash, user.phone_verified_at = address, phone_hash(address), now
    user.set_password(password)
    try:
        with transaction.atomic(using=DB):  # a savepoint: the spent code stays spent
            user.save()
    except IntegrityError:  # the address got an account since its code was sent
        audit("registration.refused", user_id=None, client=client, channel=channel,
              address_key=identifier_key(address))
        return None
    account_open(user, via="password", client=client)
    return user, session_start(user, client=client, method="password")


# --- housekeeping -----------------------------------------------------------------------------------
@use_case(DB)
def signup_codes_forget(*, now: datetime | None = None) -> int:
    """Delete the sign-up codes (and the addresses they hold) that expired; how many."""
    deleted, _ = SignupCode.objects.filter(expires_at__lte=now or clock.now()).delete()
    return deleted
