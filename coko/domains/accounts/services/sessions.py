"""Sessions: password login (and its second step with two-factor authentication on), HTTP
Basic credentials, refresh-token rotation, logout, ending one's sessions.

A session is a refresh-token family; its access tokens carry its id, so ending the
session (revoking the family and deny-listing its id) ends them too.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from coko.platform.auth import denylist, tokens
from coko.platform.crypto import keyed_hash
from coko.platform.errors import RateLimited
from coko.platform.events import publish
from coko.platform.ratelimit import failure_record, failures_clear, lockout_check
from coko.platform.services import use_case

from .. import contracts, errors
from ..models import RefreshToken, User, kosync_key_of
from ..selectors import permissions_for_user, roles_for_user, user_by_identifier
from ._common import DB, Client, audit, device_known, device_token_issue, identifier_key, limit
from .two_factor import second_factor_accept, two_factor_on

REFRESH_TTL = timedelta(days=30)
CHALLENGE_TTL = timedelta(minutes=5)
CHALLENGE_ATTEMPTS = 5


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str
    user_id: str
    device_token: str = ""  # set by password login (user_login)


@dataclass(frozen=True)
class LoginChallenge:
    """What the password step answers when the account has two-factor authentication on:
    no tokens, a single-use challenge for ``two_factor_login``."""

    challenge: str
    expires_in: int


# --- inside a caller's transaction -------------------------------------------------------------------
def session_start(user: User, *, client: Client, method: str) -> TokenPair:
    """A new session (refresh family) and its first tokens; publishes ``user.login``.

    Not a use case: runs inside the caller's transaction (login, registration, social login).
    """
    family = uuid.uuid4()
    pair = tokens_issue(user, family=family, client=client)
    publish(producer=DB, type=contracts.USER_LOGIN, aggregate_id=user.id,
            payload=contracts.UserLoggedIn(user_id=str(user.id), session_id=str(family), method=method))
    audit("login.success", user_id=user.id, client=client, method=method, session_id=str(family))
    return pair


def tokens_issue(user: User, *, family: uuid.UUID, client: Client) -> TokenPair:
    """A refresh token of ``family`` and an access token; inside the caller's transaction."""
    refresh = secrets.token_urlsafe(48)
    RefreshToken.objects.create(
        family_id=family, user=user, token_hash=keyed_hash(refresh, purpose="accounts.refresh"),
        expires_at=timezone.now() + REFRESH_TTL, ip=client.ip, user_agent=client.user_agent[:300],
    )
    access = tokens.access_token_issue(
        subject=str(user.id), roles=sorted(roles_for_user(user=user)),
        permissions=sorted(permissions_for_user(user=user)), session_id=str(family),
    )
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=settings.COKO_JWT["ACCESS_TOKEN_TTL_S"],
                     session_id=str(family), user_id=str(user.id))


def sessions_end(family_ids) -> None:
    """Revoke these sessions' refresh tokens and, once committed, their access tokens.

    Not a use case: runs inside the caller's transaction (the deny-list is written on commit).
    """
    family_ids = [str(family) for family in family_ids]
    if not family_ids:
        return
    now = timezone.now()
    RefreshToken.objects.filter(family_id__in=family_ids, revoked_at__isnull=True).update(revoked_at=now)
    until = now + timedelta(seconds=settings.COKO_JWT["ACCESS_TOKEN_TTL_S"])
    transaction.on_commit(lambda: denylist.sessions_revoke(family_ids, until=until), using=DB)


def live_families(user_id) -> set:
    """The sessions of a user that are not revoked."""
    return set(RefreshToken.objects.filter(user_id=user_id, revoked_at__isnull=True)
               .values_list("family_id", flat=True))


# --- use cases -----------------------------------------------------------------------------------------
def user_login(*, identifier: str, password: str, client: Client) -> TokenPair | LoginChallenge:
    """Password login. Failures look and take the same whether the account exists or not.

    The pair carries a device token (``device_token``) for the client to send back on its
    next logins (the edge sets it as a cookie and a header). With two-factor authentication
    on, the answer is a ``LoginChallenge`` instead, and the tokens come from ``two_factor_login``.
    """
    user, device_id, lock_key, lockout = _credentials_verify(identifier=identifier, password=password,
                                                             client=client)
    if two_factor_on(user.id):
        return LoginChallenge(challenge=_challenge_issue(user_id=user.id, device_id=device_id, lock_key=lock_key,
                                                         lockout=lockout),
                              expires_in=int(CHALLENGE_TTL.total_seconds()))
    pair = _login_session_open(user=user, client=client)
    token, _device_id = device_token_issue(user_id=user.id, device_id=device_id)
    return replace(pair, device_token=token)


def _challenge_key(challenge: str) -> str:
    return "accounts:2fa-challenge:" + keyed_hash(challenge, purpose="accounts.2fa-challenge")


def _challenge_issue(*, user_id, device_id: str | None, lock_key: str, lockout: dict) -> str:
    """A single-use challenge for the second step (``CHALLENGE_TTL``), kept in the cache (only
    its keyed hash names the entry). It remembers the lockout the password step counted
    against: the code's failures count there too."""
    challenge = secrets.token_urlsafe(32)
    cache.set(_challenge_key(challenge), {"u": str(user_id), "d": device_id, "k": lock_key, "t": lockout["THRESHOLD"],
                                            "w": lockout["WINDOW_S"], "n": 0},
              int(CHALLENGE_TTL.total_seconds()))
    return challenge


def two_factor_login(*, challenge: str, code: str, client: Client) -> TokenPair:
    """The second step of a password login with two-factor authentication on: tokens (and a
    device token) for a live challenge and a code of the authenticator or a recovery code.

    Raises ``invalid_login_challenge`` (unknown, expired, spent, or past its five attempts),
    ``invalid_two_factor_code`` (counted toward the login lockout, audited) and ``RateLimited``
    (the per-address login limit, the lockout).
    """
    limit("login_ip", client.ip)
    key = _challenge_key(challenge)
    state = cache.get(key)
    if not isinstance(state, dict):
        raise errors.INVALID_LOGIN_CHALLENGE()
    lockout_check(key=state["k"], threshold=state["t"])
    method = _second_factor_check(user_id=state["u"], code=code, client=client)
    if method is None:
        failure_record(key=state["k"], window_s=state["w"])
        state["n"] += 1
        if state["n"] >= CHALLENGE_ATTEMPTS:
            cache.delete(key)
        else:
            cache.set(key, state, int(CHALLENGE_TTL.total_seconds()))
        raise errors.INVALID_TWO_FACTOR_CODE()  # after the commit: the refusal stays in the audit log
    cache.delete(key)
    failures_clear(key=state["k"])
    pair = _login_session_open(user=User.objects.get(id=state["u"]), client=client, method=f"password+{method}")
    token, _device_id = device_token_issue(user_id=state["u"], device_id=state["d"])
    return replace(pair, device_token=token)


@use_case(DB)
def _second_factor_check(*, user_id: str, code: str, client: Client) -> str | None:
    """Spend a second-factor code of an active account: ``"totp"``, ``"recovery_code"``, or
    None (audited as ``login.2fa_failure``)."""
    user = User.objects.filter(id=user_id, is_active=True, deletion_requested_at__isnull=True).first()
    method = second_factor_accept(user, code, client=client) if user is not None else None
    if method is None:
        audit("login.2fa_failure", user_id=user_id, client=client)
    return method


def _account_lock_key(key: str) -> str:
    return f"login:{key}"


def account_lockout_clear(user: User) -> None:
    """Lift the account's login lockout, whichever identifier (email, phone) it was locked by."""
    for login in filter(None, (user.email, user.phone)):
        failures_clear(key=_account_lock_key(identifier_key(login)))


@use_case(DB)
def _login_session_open(*, user: User, client: Client, method: str = "password") -> TokenPair:
    User.objects.filter(id=user.id).update(last_login=timezone.now())
    return session_start(user, client=client, method=method)


def credentials_verify(*, identifier: str, password: str, client: Client) -> User:
    """The account these credentials open, under the login rate limits and lockout.

    Raises ``invalid_credentials`` (the same answer, in the same time, whether the account
    exists or not) and ``RateLimited``. Used by password login, the admin console's login
    (``console_credentials_verify``) and HTTP Basic clients (OPDS). A refusal is audited (committed) before it is raised.
    """
    return _credentials_verify(identifier=identifier, password=password, client=client)[0]


def console_credentials_verify(*, identifier: str, password: str, code: str, client: Client) -> User:
    """The admin console's login: ``credentials_verify`` and, with two-factor authentication
    on, a code (authenticator or recovery) too; a wrong or missing code is
    ``invalid_two_factor_code`` and counts toward the same lockout as a wrong password."""
    user, _device_id, lock_key, lockout = _credentials_verify(identifier=identifier, password=password,
                                                              client=client)
    if two_factor_on(user.id):
        if not code or _second_factor_check(user_id=user.id, code=code, client=client) is None:
            failure_record(key=lock_key, window_s=lockout["WINDOW_S"])
            raise errors.INVALID_TWO_FACTOR_CODE()
        failures_clear(key=lock_key)
    return user


def _credentials_verify(*, identifier: str, password: str, client: Client) -> tuple[User, str | None, str, dict]:
    """``credentials_verify``, the id of the known device it came from (or None), and the
    lockout it counted against (its key and its settings).

    Lockouts: an unknown device counts against the account (its normalised identifier,
    ``ACCOUNTS_LOGIN_LOCKOUT``); a device holding a valid device token for this account
    counts against that device alone (``ACCOUNTS_DEVICE_LOCKOUT``, stricter), so failures
    from elsewhere, however many addresses they come from, cannot lock the owner out of it.
    Every attempt also counts against the caller's address (``login_ip``).
    """
    key = identifier_key(identifier)
    limit("login_ip", client.ip)
    user = user_by_identifier(identifier=identifier)
    device_id = device_known(client.device, user_id=user.id) if user is not None else None
    if device_id is not None:
        lock_key, lockout = f"login:device:{device_id}", settings.ACCOUNTS_DEVICE_LOCKOUT
    else:
        lock_key, lockout = _account_lock_key(key), settings.ACCOUNTS_LOGIN_LOCKOUT
    try:
        lockout_check(key=lock_key, threshold=lockout["THRESHOLD"])
    except RateLimited:
        # Audited whether the account exists or not (the same work either way); the client's
        # answer is the same ``locked_out`` for both.
        _login_failure_audit(user_id=user.id if user else None, identifier_key=key, client=client,
                             known_device=device_id is not None, action="login.locked_out")
        raise
    usable = user is not None and user.is_active and user.deletion_requested_at is None
    if user is not None and user.has_usable_password():
        valid = check_password(password, user.password)
    else:
        make_password(password)  # same cost as a real check: no timing oracle
        valid = False
    if not (usable and valid):
        failure_record(key=lock_key, window_s=lockout["WINDOW_S"])
        _login_failure_audit(user_id=user.id if user else None, identifier_key=key, client=client,
                             known_device=device_id is not None)
        raise errors.INVALID_CREDENTIALS()
    # A success from a known device leaves the account's count alone: whoever is guessing
    # from elsewhere does not get a fresh budget each time the owner logs in. With two-factor
    # authentication on, the password alone clears nothing: the second step does (else whoever
    # holds the password would get a fresh budget of codes with each password login).
    if not two_factor_on(user.id):
        failures_clear(key=lock_key)
    kosync_key_remember(user=user, password=password)
    return user, device_id, lock_key, lockout


def kosync_key_remember(*, user: User, password: str) -> None:
    """After a password login: store the account's KOReader key if it is not the password's yet
    (accounts whose password predates it). One HMAC; a write only the first time."""
    key = kosync_key_of(hashlib.md5(password.encode()).hexdigest())
    if user.kosync_key != key:
        _kosync_key_store(user_id=user.id, key=key)


@use_case(DB)
def _kosync_key_store(*, user_id, key: str) -> None:
    User.objects.filter(id=user_id).update(kosync_key=key)


@use_case(DB)
def _login_failure_audit(*, user_id, identifier_key: str, client: Client, known_device: bool,
                         action: str = "login.failure") -> None:
    """A refused login (``login.failure``) or one refused unchecked, the account or device
    being locked out (``login.locked_out``)."""
    audit(action, user_id=user_id, client=client, identifier_key=identifier_key, known_device=known_device)


@use_case(DB)
def admin_login_audit(*, user_id, client: Client) -> None:
    """The admin console's successful login, in the same audit log as the API's."""
    audit("login.success", user_id=user_id, client=client, method="admin")


def session_refresh(*, refresh_token: str, client: Client) -> TokenPair:
    """Rotate a refresh token. A spent one revokes its whole family (theft detection)."""
    limit("refresh_ip", client.ip)
    pair = _refresh_rotate(digest=keyed_hash(refresh_token, purpose="accounts.refresh"), client=client)
    if pair is None:
        # Refused after the commit, so that a revocation for a replayed token stands.
        raise errors.INVALID_REFRESH_TOKEN()
    return pair


@use_case(DB)
def _refresh_rotate(*, digest: str, client: Client) -> TokenPair | None:
    """New tokens for a live refresh token; None (and, for a spent one, the session ended)."""
    token = RefreshToken.objects.select_for_update().select_related("user").filter(token_hash=digest).first()
    now = timezone.now()
    if token is not None and token.used_at is None:
        user = token.user
        if (token.revoked_at is None and token.expires_at > now and user.is_active
                and user.deletion_requested_at is None):
            token.used_at = now
            token.save(update_fields=["used_at"])
            return tokens_issue(user, family=token.family_id, client=client)
    elif token is not None and token.revoked_at is None:
        # Spent already: someone replays a stolen token, or the owner is. End the session.
        sessions_end([token.family_id])
        audit("token.reuse", user_id=token.user_id, client=client, session_id=str(token.family_id))
    return None


@use_case(DB)
def session_logout(*, user_id: str, session_id: str, client: Client) -> None:
    """End one session: its refresh family and, through the deny-list, its access tokens."""
    sessions_end([session_id])
    audit("logout", user_id=user_id, client=client, session_id=session_id)


@use_case(DB)
def session_end(*, user_id: str, session_id, client: Client) -> None:
    """End one of the caller's sessions (its access tokens too); ``session_not_found`` for a
    session that is not theirs or has ended (the same answer: no enumeration)."""
    if not RefreshToken.objects.filter(user_id=user_id, family_id=session_id, revoked_at__isnull=True).exists():
        raise errors.SESSION_NOT_FOUND(session_id=str(session_id))
    sessions_end([session_id])
    audit("session.ended", user_id=user_id, client=client, session_id=str(session_id))


@use_case(DB)
def sessions_end_all(*, user_id: str, keep_session_id: str | None, client: Client) -> int:
    """"Log out everywhere": end every session of the caller, but ``keep_session_id`` when
    given (the caller's own, usually). How many ended."""
    families = live_families(user_id) - ({uuid.UUID(str(keep_session_id))} if keep_session_id else set())
    sessions_end(families)
    audit("sessions.ended_all", user_id=user_id, client=client, ended=len(families),
          kept_session_id=str(keep_session_id) if keep_session_id else None)
    return len(families)
