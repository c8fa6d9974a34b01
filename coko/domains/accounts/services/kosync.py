"""KOReader's progress sync (kosync) signs in with the reader's Coko account.

KOReader sends ``x-auth-user`` (here: the account's email or phone) and ``x-auth-key``, the
md5 of the password in hex, with every request. The account keeps a keyed hash of that md5
(``User.kosync_key``), written with the password (``User.set_password``: sign-up, change,
reset, the console) and on a password login for accounts older than it — never the md5
itself. A check is one indexed read and one HMAC, under the login rate limit per address and
the account's lockout, like a password login; refused while two-factor authentication is on
(a password alone must not open such an account). ``kosync_register`` is KOReader's
``POST /users/create``: it opens an account for an address with only that key (KOReader
never sends the password itself), unverified, with no usable password: its owner sets one
with a password reset, which proves the address.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction

from coko.platform.crypto import hashes_equal
from coko.platform.ratelimit import failure_record, failures_clear, lockout_check
from coko.platform.services import use_case

from .. import errors
from ..models import User, kosync_key_of
from ..selectors import phone_hash, user_by_identifier
from ._common import DB, Client, audit, email_normalize, identifier_key, limit, phone_normalize
from .registration import account_open
from .two_factor import two_factor_on


def kosync_verify(*, identifier: str, key: str, client: Client) -> User:
    """The account ``identifier`` and ``key`` (md5 of its password, as KOReader sends it) open.

    Raises ``invalid_credentials`` (the same for an unknown account, audited) and
    ``RateLimited`` (the per-address login limit, the account's lockout)."""
    limit("login_ip", client.ip)
    lock_key, lockout = f"login:{identifier_key(identifier)}", settings.ACCOUNTS_LOGIN_LOCKOUT
    lockout_check(key=lock_key, threshold=lockout["THRESHOLD"])
    user = user_by_identifier(identifier=identifier) if identifier.strip() else None
    valid = (user is not None and user.is_active and user.deletion_requested_at is None and bool(user.kosync_key)
             and hashes_equal(kosync_key_of(key), user.kosync_key) and not two_factor_on(user.id))
    if not valid:
        failure_record(key=lock_key, window_s=lockout["WINDOW_S"])
        _kosync_failure_audit(user_id=user.id if user else None, identifier_key=identifier_key(identifier),
                              client=client)
        raise errors.INVALID_CREDENTIALS()
    failures_clear(key=lock_key)
    return user


@use_case(DB)
def _kosync_failure_audit(*, user_id, identifier_key: str, client: Client) -> None:
    audit("kosync.failure", user_id=user_id, client=client, identifier_key=identifier_key)


def kosync_register(*, identifier: str, key: str, client: Client) -> User | None:
    """Open an account for the email or phone ``identifier`` with KOReader's ``key`` only; None
    if the address already has one. Raises ``invalid_email`` or ``invalid_phone`` for an
    identifier that is neither, and ``RateLimited`` (the sign-up limits)."""
    limit("register_ip", client.ip)
    value = identifier.strip()
    address = email_normalize(value) if "@" in value else phone_normalize(value)
    limit("register_address", identifier_key(address))
    return _kosync_account_open(address=address, key=key, client=client)


@use_case(DB)
def _kosync_account_open(*, address: str, key: str, client: Client) -> User | None:
    user = User(kosync_key=kosync_key_of(key))
    if "@" in address:
        user.email = address
    else:
        user.phone, user.phone_hash = address, phone_hash(address)
    user.set_unusable_password()
    try:
        with transaction.atomic(using=DB):
            user.save()
    except IntegrityError:  # the address has an account
        return None
    account_open(user, via="kosync", client=client)
    return user
