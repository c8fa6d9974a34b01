"""Registration with a password, and the one place that announces a new account."""

from __future__ import annotations

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction

from coko.platform.events import publish
from coko.platform.services import use_case

from .. import contracts, errors
from ..models import User
from ..selectors import phone_hash
from ._common import (
    DB,
    Client,
    audit,
    email_normalize,
    language_check,
    limit,
    password_check_policy,
    phone_normalize,
    role_group,
)
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


@use_case(DB)
def user_register(*, password: str, email: str | None = None, phone: str | None = None,
                  display_name: str = "", preferred_language: str = "fr", country: str = "",
                  marketing_consent: bool = False, client: Client) -> tuple[User, TokenPair]:
    """Create an account (email and/or phone), give it the ``user`` role, open a session."""
    limit("register_ip", client.ip)
    if not email and not phone:
        raise errors.LOGIN_REQUIRED(fields=["email", "phone"])
    email_n = email_normalize(email) if email else None
    phone_n = phone_normalize(phone) if phone else None
    language_check(preferred_language)
    password_check_policy(password, User(email=email_n, display_name=display_name))
    # Hashed before the duplicate check: a taken address costs the same Argon2 as a new one.
    password_hash = make_password(password)
    duplicate = []
    if email_n and User.objects.filter(email=email_n).exists():
        duplicate.append("email")
    if phone_n and User.objects.filter(phone_hash=phone_hash(phone_n)).exists():
        duplicate.append("phone")
    if duplicate:
        raise errors.ACCOUNT_EXISTS(fields=duplicate)
    user = User(email=email_n, phone=phone_n, phone_hash=phone_hash(phone_n) if phone_n else None,
                display_name=display_name.strip()[:120], preferred_language=preferred_language,
                country=country.upper()[:2], marketing_consent=marketing_consent)
    user.password = password_hash
    try:
        with transaction.atomic(using=DB):  # a savepoint: the race below leaves the transaction usable
            user.save()
    except IntegrityError:  # a concurrent registration won the race
        raise errors.ACCOUNT_EXISTS(fields=["email" if email_n else "phone"]) from None
    account_open(user, via="password", client=client)
    return user, session_start(user, client=client, method="password")
