"""Frozen data the accounts domain shares: facade results and event payloads.

No Django imports here: contracts must be importable by an extracted service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from coko.platform.contracts import EventPayload

# --- roles and permissions (the brief's RBAC) ---------------------------------------------
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "user": frozenset({"read_books", "write_reviews"}),
    "premium": frozenset({"read_books", "write_reviews", "download_books"}),
    "author": frozenset({"read_books", "publish_books", "manage_royalties"}),
    "admin": frozenset({"*"}),
}
ROLES = tuple(ROLE_PERMISSIONS)
PERMISSIONS = tuple(sorted({p for perms in ROLE_PERMISSIONS.values() for p in perms} - {"*"}))
LANGUAGES = ("fr", "en", "wo", "ar", "sw", "pt")  # the languages a reader can choose


@dataclass(frozen=True)
class UserSummary:
    """What another domain may know about a user."""

    id: str
    display_name: str
    preferred_language: str
    country: str
    roles: frozenset[str]
    is_active: bool


@dataclass(frozen=True)
class UserPermissions:
    user_id: str
    roles: frozenset[str]
    permissions: frozenset[str]


# --- events the accounts domain publishes -------------------------------------------------------
USER_REGISTERED = "user.registered"
USER_LOGIN = "user.login"
USER_PROFILE_UPDATED = "user.profile.updated"
USER_DELETED = "user.deleted"
VERIFICATION_REQUESTED = "verification.requested"
PASSWORD_RESET_REQUESTED = "password_reset.requested"
SIGNUP_CODE_REQUESTED = "signup.code_requested"
SIGNUP_ADDRESS_TAKEN = "signup.address_taken"


@dataclass(frozen=True)
class UserRegistered(EventPayload):
    """``user.registered``"""

    user_id: str
    display_name: str
    preferred_language: str
    country: str
    has_email: bool
    has_phone: bool
    marketing_consent: bool
    via: str  # "password" | "google" | "facebook" | "kosync"


@dataclass(frozen=True)
class UserLoggedIn(EventPayload):
    """``user.login``"""

    user_id: str
    session_id: str
    method: str


@dataclass(frozen=True)
class UserProfileUpdated(EventPayload):
    """``user.profile.updated``"""

    user_id: str
    changed: tuple[str, ...]


@dataclass(frozen=True)
class UserDeleted(EventPayload):
    """``user.deleted``: the account is closed now; personal data is erased after the grace period."""

    user_id: str
    erase_after: datetime


@dataclass(frozen=True)
class CodeRequested(EventPayload):
    """``verification.requested`` and ``password_reset.requested``.

    The one-time code travels encrypted (``code_encrypted``: the platform's field
    encryption); the destination is not repeated in clear: notifications looks it
    up through ``accounts.api.contact_for``.
    """

    user_id: str
    purpose: Literal["verify_email", "verify_phone", "password_reset"]
    channel: Literal["email", "sms"]
    code_encrypted: str
    expires_at: datetime
    language: str


@dataclass(frozen=True)
class SignupCodeRequested(EventPayload):
    """``signup.code_requested``: a sign-up code for an address that has no account yet.

    The code travels encrypted; the address is not in the event: notifications reads it
    through ``accounts.api.signup_contact(signup_id=…)``.
    """

    signup_id: str
    channel: Literal["email", "sms"]
    code_encrypted: str
    expires_at: datetime
    language: str


@dataclass(frozen=True)
class SignupAddressTaken(EventPayload):
    """``signup.address_taken``: someone started a sign-up with the address of this account.

    Its owner is told (and no code is sent): sign in, or reset the password.
    """

    user_id: str
    channel: Literal["email", "sms"]


EVENTS: dict[str, type[EventPayload]] = {
    USER_REGISTERED: UserRegistered,
    USER_LOGIN: UserLoggedIn,
    USER_PROFILE_UPDATED: UserProfileUpdated,
    USER_DELETED: UserDeleted,
    VERIFICATION_REQUESTED: CodeRequested,
    PASSWORD_RESET_REQUESTED: CodeRequested,
    SIGNUP_CODE_REQUESTED: SignupCodeRequested,
    SIGNUP_ADDRESS_TAKEN: SignupAddressTaken,
}


@dataclass(frozen=True)
class Contact:
    """How to reach a user (``accounts.api.contact_for``): for the notifications domain only."""

    user_id: str
    email: str | None
    phone: str | None  # E.164
    preferred_language: str
    display_name: str
    is_active: bool


@dataclass(frozen=True)
class SignupContact:
    """Where a sign-up code goes (``accounts.api.signup_contact``): for the notifications domain only."""

    signup_id: str
    channel: Literal["email", "sms"]
    address: str  # the email address, or the phone number in E.164
    language: str
