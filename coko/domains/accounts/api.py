"""The accounts facade: the only functions other domains may call.

Arguments and results are plain values or the frozen types of ``accounts.contracts``;
models and querysets never cross this boundary.
"""

from __future__ import annotations

from uuid import UUID

from django.core.cache import cache

from coko.platform.auth.basic import BasicRefused, basic_credentials
from coko.platform.crypto import keyed_hash
from coko.platform.errors import Unauthorized

from . import contracts, selectors, services

#: How long a verified HTTP Basic credential is remembered (Argon2 costs ~50 ms per check;
#: e-reader apps send the credentials with every request of a catalogue walk).
CREDENTIALS_CACHE_S = 300


def user_summary(*, user_id: str) -> contracts.UserSummary | None:
    """Public facts about a user, or None if there is no such (active or closed) account."""
    user = selectors.user_get(user_id=user_id)
    if user is None:
        return None
    return contracts.UserSummary(
        id=str(user.id), display_name=user.display_name, preferred_language=user.preferred_language,
        country=user.country, roles=frozenset(selectors.roles_for_user(user=user)),
        is_active=user.is_active,
    )


def permissions_for(*, user_id: str) -> contracts.UserPermissions | None:
    """The roles and effective permissions of a user (``*`` means every permission)."""
    user = selectors.user_get(user_id=user_id)
    if user is None:
        return None
    return contracts.UserPermissions(user_id=str(user.id),
                                     roles=frozenset(selectors.roles_for_user(user=user)),
                                     permissions=frozenset(selectors.permissions_for_user(user=user)))


def has_permission(*, user_id: str, permission: str, obj: tuple[str, str] | None = None) -> bool:
    """Whether the user holds ``permission`` globally (by role), or on one object.

    ``obj`` names an object of another domain as ``(kind, id)``, e.g.
    ``("publishing.manuscript", "6f1c…")``; object permissions are granted with
    ``object_permission_grant`` and stored by django-guardian in accounts.
    """
    user = selectors.user_get(user_id=user_id)
    if user is None or not user.is_active:
        return False
    granted = selectors.permissions_for_user(user=user)
    if "*" in granted or (obj is None and permission in granted):
        return True
    if obj is None:
        return False
    return selectors.object_permission_held(user=user, permission=permission, kind=obj[0], object_id=obj[1])


def object_permission_grant(*, user_id: str, permission: str, kind: str, object_id: str) -> None:
    """Let one user ``permission`` one object of another domain (an author on a manuscript …)."""
    services.object_permission_grant(user_id=user_id, permission=permission, kind=kind, object_id=object_id)


def object_permission_revoke(*, user_id: str, permission: str, kind: str, object_id: str) -> None:
    services.object_permission_revoke(user_id=user_id, permission=permission, kind=kind, object_id=object_id)


def avatar_set(*, user_id: str, file_id: str, ip: str | None = None) -> None:
    """Make ``file_id`` the user's avatar. Only the files domain calls this, once it has found
    the file to be an image the user owns (accounts cannot tell)."""
    services.profile_update(user_id=user_id, changes=services.ProfileChanges(avatar_file_id=UUID(str(file_id))),
                            client=services.Client(ip=ip), avatar_checked=True)


def contact_for(*, user_id: str) -> contracts.Contact | None:
    """The addresses and language of a user, or None if there is no such account."""
    user = selectors.user_get(user_id=user_id)
    if user is None:
        return None
    return contracts.Contact(
        user_id=str(user.id), email=user.email or None, phone=user.phone or None,
        preferred_language=user.preferred_language, display_name=user.display_name,
        is_active=user.is_active,
    )


def signup_contact(*, signup_id: str) -> contracts.SignupContact | None:
    """Where the sign-up code ``signup_id`` goes, or None if it is forgotten (expired and purged)."""
    signup = selectors.signup_code_get(signup_id=signup_id)
    if signup is None:
        return None
    return contracts.SignupContact(signup_id=str(signup.id), channel=signup.channel, address=signup.address,
                                   language=signup.language)


def credentials_check(*, identifier: str, password: str, ip: str | None = None) -> contracts.UserPermissions:
    """The user (roles and permissions) that an identifier and password open, for clients
    that can only send HTTP Basic credentials (OPDS readers' apps).

    The password is one of the account's app passwords (``services.app_passwords``: one
    indexed read), or its main password while two-factor authentication is off.
    Raises ``Unauthorized`` (no enumeration: same answer for an unknown account) and
    ``RateLimited`` under the login limits and lockout. A main-password success is remembered
    for a few minutes under a keyed hash of the pair, so a catalogue walk pays one Argon2 check;
    the entry also holds a keyed fingerprint of the account's password hash, compared with
    the account's on every use (the user is read anyway for their roles): a password
    changed or reset (by the API, the console, anywhere), a closed account or two-factor
    authentication turned on refuses the old password on the very next request, not minutes later.
    """
    client = services.Client(ip=ip, user_agent="basic-auth")
    user = services.app_password_verify(identifier=identifier, password=password)
    if user is None:
        user = _main_password_user(identifier=identifier, password=password, client=client)
    return contracts.UserPermissions(user_id=str(user.id),
                                     roles=frozenset(selectors.roles_for_user(user=user)),
                                     permissions=frozenset(selectors.permissions_for_user(user=user)))


def _main_password_user(*, identifier: str, password: str, client):
    cache_key = "accounts:basic:" + keyed_hash(f"{identifier}\x00{password}", purpose="basic-auth")
    remembered = cache.get(cache_key)
    if isinstance(remembered, str) and ":" in remembered:
        user_id, _sep, fingerprint = remembered.partition(":")
        user = selectors.user_get(user_id=user_id)
        if (user is not None and _basic_usable(user) and fingerprint == _password_fingerprint(user)
                and not services.two_factor_on(user.id)):
            return user
        cache.delete(cache_key)
    user = services.basic_password_verify(identifier=identifier, password=password, client=client)
    cache.set(cache_key, f"{user.id}:{_password_fingerprint(user)}", CREDENTIALS_CACHE_S)
    return user


def _basic_usable(user) -> bool:
    return user.is_active and user.deletion_requested_at is None


def _password_fingerprint(user) -> str:
    """Changes whenever the password does (a new salt every time); not the hash itself."""
    return keyed_hash(user.password or "", purpose="basic-auth-password")[:32]


def basic_credentials_check(*, value: str, ip: str | None = None) -> contracts.UserPermissions:
    """``credentials_check`` for an ``Authorization: Basic <value>`` header; any refusal is a
    ``BasicRefused`` (401 with a Basic challenge), ``RateLimited`` passes through."""
    identifier, password = basic_credentials(value)
    try:
        return credentials_check(identifier=identifier, password=password, ip=ip)
    except Unauthorized as exc:
        raise BasicRefused() from exc


def kosync_user(*, username: str, key: str, ip: str | None = None) -> str:
    """The id of the account KOReader's sync headers open: ``x-auth-user`` (email or phone)
    and ``x-auth-key`` (md5 of the password, hex). Raises ``Unauthorized`` (the same for an
    unknown account; refused while two-factor authentication is on) and ``RateLimited``
    (the login limit per address, the account's lockout)."""
    return str(services.kosync_verify(identifier=username, key=key,
                                      client=services.Client(ip=ip, user_agent="kosync")).id)


def kosync_register(*, username: str, key: str, ip: str | None = None) -> str | None:
    """KOReader's sign-up: an account for the email or phone ``username`` whose sync key is
    ``key`` (it has no usable password until its owner resets one, proving the address); its
    id, or None if the address has an account. Raises ``Unprocessable`` (not an email or a
    phone number) and ``RateLimited`` (the sign-up limits)."""
    user = services.kosync_register(identifier=username, key=key, client=services.Client(ip=ip, user_agent="kosync"))
    return str(user.id) if user is not None else None
