"""Accounts use cases. Each runs in one durable transaction on the accounts alias,
writing its state, its audit lines and its outbox events together."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from coko.platform.auth import denylist, tokens
from coko.platform.crypto import field_encrypt, keyed_hash
from coko.platform.errors import Conflict, NotFound, PermissionDenied, Unauthorized, Unprocessable
from coko.platform.events import publish
from coko.platform.ratelimit import failure_record, failures_clear, lockout_check, rate_limit_check

from . import contracts
from .models import AuditEvent, OneTimeCode, RefreshToken, SocialAccount, User
from .selectors import permissions_for_user, phone_e164, phone_hash, roles_for_user, user_by_identifier

DB = "accounts"
REFRESH_TTL = timedelta(days=30)
CODE_TTL = timedelta(minutes=15)
CODE_MAX_ATTEMPTS = 5
DELETION_GRACE = timedelta(days=30)


@dataclass(frozen=True)
class Client:
    """Who is calling, for rate limits and the audit log."""

    ip: str | None = None
    user_agent: str = ""


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str
    user_id: str


# --- helpers --------------------------------------------------------------------------------------
def _limit(name: str, subject) -> None:
    """Apply the rate limit ``name`` of settings.ACCOUNTS_RATE_LIMITS to ``subject`` (an IP, a user …)."""
    limit, window_s = settings.ACCOUNTS_RATE_LIMITS[name]
    rate_limit_check(key=f"accounts:{name}:{subject}", limit=limit, window_s=window_s)


def _audit(action: str, *, user_id=None, client: Client, **details) -> None:
    AuditEvent.objects.using(DB).create(action=action, user_id=user_id, ip=client.ip,
                                        user_agent=client.user_agent[:300], details=details)


def _role_group(role: str) -> Group:
    """The Django group that stands for one of the brief's roles (created on first use)."""
    return Group.objects.using(DB).get_or_create(name=role)[0]


def phone_normalize(raw: str) -> str:
    """E.164, or ``Unprocessable``. Numbers without a country code are refused."""
    e164 = phone_e164(raw)
    if e164 is None:
        raise Unprocessable("invalid_phone", _("Enter a valid mobile number with its country code, like +221 77 123 45 67."),
                            details={"field": "phone"})
    return e164


def email_normalize(raw: str) -> str:
    email = raw.strip().lower()
    try:
        validate_email(email)
    except DjangoValidationError:
        raise Unprocessable("invalid_email", _("Enter a valid email address."),
                            details={"field": "email"}) from None
    return email


def _identifier_key(identifier: str) -> str:
    """A rate-limit key for what the client typed, whether or not an account has it."""
    return keyed_hash(identifier.strip().lower(), purpose="accounts.login-identifier")[:32]


def _password_check_policy(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise Unprocessable("weak_password", _("This password is not allowed."),
                            details={"field": "password", "reasons": [str(m) for m in exc.messages]}) from None


def _session_start(user: User, *, client: Client, method: str) -> TokenPair:
    """A new session (refresh family) and its first tokens; inside the caller's transaction."""
    family = uuid.uuid4()
    pair = _tokens_issue(user, family=family, client=client)
    publish(producer=DB, type="user.login", aggregate_id=user.id,
            payload=contracts.UserLoggedIn(user_id=str(user.id), session_id=str(family), method=method))
    _audit("login.success", user_id=user.id, client=client, method=method, session_id=str(family))
    return pair


def _tokens_issue(user: User, *, family: uuid.UUID, client: Client) -> TokenPair:
    refresh = secrets.token_urlsafe(48)
    RefreshToken.objects.using(DB).create(
        family_id=family, user=user, token_hash=keyed_hash(refresh, purpose="accounts.refresh"),
        expires_at=timezone.now() + REFRESH_TTL, ip=client.ip, user_agent=client.user_agent[:300],
    )
    roles = roles_for_user(user=user)
    access = tokens.access_token_issue(
        subject=str(user.id), roles=sorted(roles), permissions=sorted(permissions_for_user(user=user)),
        session_id=str(family),
    )
    return TokenPair(access_token=access, refresh_token=refresh, expires_in=settings.COKO_JWT["ACCESS_TOKEN_TTL_S"],
                     session_id=str(family), user_id=str(user.id))


def _sessions_end(family_ids) -> None:
    """Revoke these sessions' refresh tokens and, once committed, their access tokens."""
    family_ids = [str(family) for family in family_ids]
    if not family_ids:
        return
    now = timezone.now()
    RefreshToken.objects.using(DB).filter(family_id__in=family_ids, revoked_at__isnull=True).update(revoked_at=now)
    until = now + timedelta(seconds=settings.COKO_JWT["ACCESS_TOKEN_TTL_S"])
    transaction.on_commit(lambda: denylist.sessions_revoke(family_ids, until=until), using=DB)


# --- registration and login -------------------------------------------------------------------------
def user_register(*, password: str, email: str | None = None, phone: str | None = None,
                  display_name: str = "", preferred_language: str = "fr", country: str = "",
                  marketing_consent: bool = False, client: Client) -> tuple[User, TokenPair]:
    """Create an account (email and/or phone), give it the ``user`` role, open a session."""
    _limit("register_ip", client.ip)
    if not email and not phone:
        raise Unprocessable("login_required", _("Give an email address or a mobile number."),
                            details={"fields": ["email", "phone"]})
    email_n = email_normalize(email) if email else None
    phone_n = phone_normalize(phone) if phone else None
    if preferred_language not in contracts.LANGUAGES:
        raise Unprocessable("invalid_language", _("This language is not offered."),
                            details={"field": "preferred_language", "allowed": list(contracts.LANGUAGES)})
    candidate = User(email=email_n, display_name=display_name)
    _password_check_policy(password, candidate)
    with transaction.atomic(using=DB, durable=True):
        duplicate = []
        if email_n and User.objects.using(DB).filter(email=email_n).exists():
            duplicate.append("email")
        if phone_n and User.objects.using(DB).filter(phone_hash=phone_hash(phone_n)).exists():
            duplicate.append("phone")
        if duplicate:
            raise Conflict("account_exists", _("An account already uses this email address or mobile number."),
                           details={"fields": duplicate})
        user = User(email=email_n, phone=phone_n, phone_hash=phone_hash(phone_n) if phone_n else None,
                    display_name=display_name.strip()[:120], preferred_language=preferred_language,
                    country=country.upper()[:2], marketing_consent=marketing_consent)
        user.set_password(password)
        try:
            with transaction.atomic(using=DB):
                user.save(using=DB)
        except IntegrityError:  # a concurrent registration won the race
            raise Conflict("account_exists", _("An account already uses this email address or mobile number."),
                           details={"fields": ["email" if email_n else "phone"]}) from None
        user.groups.add(_role_group("user"))
        publish(producer=DB, type="user.registered", aggregate_id=user.id, payload=contracts.UserRegistered(
            user_id=str(user.id), display_name=user.display_name, preferred_language=user.preferred_language,
            country=user.country, has_email=bool(email_n), has_phone=bool(phone_n),
            marketing_consent=marketing_consent, via="password"))
        _audit("user.registered", user_id=user.id, client=client)
        pair = _session_start(user, client=client, method="password")
    return user, pair


def user_login(*, identifier: str, password: str, client: Client) -> TokenPair:
    """Password login. Failures look and take the same whether the account exists or not."""
    user = credentials_verify(identifier=identifier, password=password, client=client)
    with transaction.atomic(using=DB, durable=True):
        User.objects.using(DB).filter(id=user.id).update(last_login=timezone.now())
        return _session_start(user, client=client, method="password")


def credentials_verify(*, identifier: str, password: str, client: Client) -> User:
    """The account these credentials open, under the login rate limits and lockout.

    Raises ``Unauthorized`` (the same answer, in the same time, whether the account exists
    or not) and ``RateLimited``. Used by password login and by HTTP Basic clients (OPDS).
    """
    key = _identifier_key(identifier)
    _limit("login_ip", client.ip)
    lockout = settings.ACCOUNTS_LOGIN_LOCKOUT
    lockout_check(key=f"login:{key}", threshold=lockout["THRESHOLD"])
    user = user_by_identifier(identifier=identifier)
    usable = user is not None and user.is_active and user.deletion_requested_at is None
    if user is not None and user.has_usable_password():
        valid = check_password(password, user.password)
    else:
        make_password(password)  # same cost as a real check: no timing oracle
        valid = False
    if not (usable and valid):
        failure_record(key=f"login:{key}", window_s=lockout["WINDOW_S"])
        with transaction.atomic(using=DB, durable=True):
            _audit("login.failure", user_id=user.id if user else None, client=client,
                   identifier_key=key)
        raise Unauthorized("invalid_credentials", _("These credentials are not valid."))
    failures_clear(key=f"login:{key}")
    return user


def session_refresh(*, refresh_token: str, client: Client) -> TokenPair:
    """Rotate a refresh token. A spent one revokes its whole family (theft detection)."""
    _limit("refresh_ip", client.ip)
    digest = keyed_hash(refresh_token, purpose="accounts.refresh")
    with transaction.atomic(using=DB, durable=True):
        token = (RefreshToken.objects.using(DB).select_for_update().select_related("user")
                 .filter(token_hash=digest).first())
        now = timezone.now()
        if token is not None and token.used_at is None:
            user = token.user
            if (token.revoked_at is None and token.expires_at > now and user.is_active
                    and user.deletion_requested_at is None):
                token.used_at = now
                token.save(using=DB, update_fields=["used_at"])
                return _tokens_issue(user, family=token.family_id, client=client)
        elif token is not None and token.revoked_at is None:
            # Spent already: someone replays a stolen token, or the owner is. End the session.
            _sessions_end([token.family_id])
            _audit("token.reuse", user_id=token.user_id, client=client, session_id=str(token.family_id))
    # Refused outside the transaction, so that a revocation above is committed.
    raise Unauthorized("invalid_refresh_token", _("This session has ended. Log in again."))


def session_logout(*, user_id: str, session_id: str, client: Client) -> None:
    """End one session: its refresh family and, through the deny-list, its access tokens."""
    with transaction.atomic(using=DB, durable=True):
        _sessions_end([session_id])
        _audit("logout", user_id=user_id, client=client, session_id=session_id)


# --- profile ------------------------------------------------------------------------------------------
PROFILE_FIELDS = ("display_name", "preferred_language", "country", "avatar_file_id", "marketing_consent")


def profile_update(*, user_id: str, changes: dict, client: Client) -> User:
    """Change profile fields; publishes ``user.profile.updated`` with the names that changed."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise Unprocessable("unknown_fields", _("These fields cannot be changed here."),
                            details={"fields": sorted(unknown)})
    if "preferred_language" in changes and changes["preferred_language"] not in contracts.LANGUAGES:
        raise Unprocessable("invalid_language", _("This language is not offered."),
                            details={"field": "preferred_language", "allowed": list(contracts.LANGUAGES)})
    with transaction.atomic(using=DB, durable=True):
        user = User.objects.using(DB).select_for_update().get(id=user_id)
        changed = []
        for name, value in changes.items():
            if name == "country" and value:
                value = value.upper()[:2]
            if getattr(user, name) != value:
                setattr(user, name, value)
                changed.append(name)
        if changed:
            user.save(using=DB, update_fields=changed)
            publish(producer=DB, type="user.profile.updated", aggregate_id=user.id,
                    payload=contracts.UserProfileUpdated(user_id=str(user.id), changed=tuple(changed)))
            _audit("profile.updated", user_id=user.id, client=client, fields=changed)
    return user


# --- one-time codes -----------------------------------------------------------------------------------
def _code_issue(user: User, *, purpose: str, channel: str) -> None:
    code = f"{secrets.randbelow(10**6):06d}"
    now = timezone.now()
    OneTimeCode.objects.using(DB).filter(user=user, purpose=purpose, consumed_at__isnull=True).update(consumed_at=now)
    OneTimeCode.objects.using(DB).create(user=user, purpose=purpose, expires_at=now + CODE_TTL,
                                         code_hash=keyed_hash(f"{user.id}:{code}", purpose=f"accounts.{purpose}"))
    event = "password_reset.requested" if purpose == "password_reset" else "verification.requested"
    publish(producer=DB, type=event, aggregate_id=user.id, payload=contracts.CodeRequested(
        user_id=str(user.id), purpose=purpose, channel=channel, code_encrypted=field_encrypt(code),
        expires_at=now + CODE_TTL, language=user.preferred_language))


def _code_consume(user: User, *, purpose: str, code: str) -> None:
    invalid = Unprocessable("invalid_code", _("This code is not valid or has expired."), details={"field": "code"})
    candidate = (OneTimeCode.objects.using(DB).select_for_update()
                 .filter(user=user, purpose=purpose, consumed_at__isnull=True, expires_at__gt=timezone.now())
                 .order_by("-id").first())
    if candidate is None or candidate.attempts >= CODE_MAX_ATTEMPTS:
        raise invalid
    expected = keyed_hash(f"{user.id}:{code.strip()}", purpose=f"accounts.{purpose}")
    if not secrets.compare_digest(expected, candidate.code_hash):
        OneTimeCode.objects.using(DB).filter(id=candidate.id).update(attempts=candidate.attempts + 1)
        return None
    candidate.consumed_at = timezone.now()
    candidate.save(using=DB, update_fields=["consumed_at"])
    return True


def verification_request(*, user_id: str, channel: str, client: Client) -> None:
    """Send a code to prove the account's email (channel ``email``) or phone (``sms``)."""
    _limit("verify_user", user_id)
    with transaction.atomic(using=DB, durable=True):
        user = User.objects.using(DB).get(id=user_id)
        if channel == "email" and not user.email or channel == "sms" and not user.phone_hash:
            raise Unprocessable("no_destination", _("This account has no such contact to verify."),
                                details={"field": "channel"})
        _code_issue(user, purpose="verify_email" if channel == "email" else "verify_phone", channel=channel)
        _audit("verification.requested", user_id=user.id, client=client, channel=channel)


def verification_confirm(*, user_id: str, channel: str, code: str, client: Client) -> None:
    _limit("verify_confirm", user_id)
    purpose = "verify_email" if channel == "email" else "verify_phone"
    with transaction.atomic(using=DB, durable=True):
        user = User.objects.using(DB).select_for_update().get(id=user_id)
        consumed = _code_consume(user, purpose=purpose, code=code)
        if consumed:
            setattr(user, "email_verified_at" if channel == "email" else "phone_verified_at", timezone.now())
            user.save(using=DB)
            _audit("verification.confirmed", user_id=user.id, client=client, channel=channel)
    if not consumed:
        raise Unprocessable("invalid_code", _("This code is not valid or has expired."), details={"field": "code"})


def password_reset_request(*, identifier: str, client: Client) -> None:
    """Send a reset code if an account has this identifier. Says nothing either way."""
    _limit("reset_ip", client.ip)
    _limit("reset_identifier", _identifier_key(identifier))
    user = user_by_identifier(identifier=identifier)
    if user is None or not user.is_active or user.deletion_requested_at is not None:
        return
    channel = "email" if user.email and "@" in identifier else ("sms" if user.phone_hash else "email")
    with transaction.atomic(using=DB, durable=True):
        _code_issue(user, purpose="password_reset", channel=channel)
        _audit("password_reset.requested", user_id=user.id, client=client)


def password_reset_confirm(*, identifier: str, code: str, new_password: str, client: Client) -> None:
    """Set a new password with a reset code; every session of the account ends."""
    _limit("reset_confirm", _identifier_key(identifier))
    user = user_by_identifier(identifier=identifier)
    invalid = Unprocessable("invalid_code", _("This code is not valid or has expired."), details={"field": "code"})
    if user is None:
        raise invalid
    _password_check_policy(new_password, user)
    with transaction.atomic(using=DB, durable=True):
        user = User.objects.using(DB).select_for_update().get(id=user.id)
        if not _code_consume(user, purpose="password_reset", code=code):
            consumed = False
        else:
            consumed = True
            user.set_password(new_password)
            user.save(using=DB, update_fields=["password"])
            _sessions_end(_live_families(user.id))
            _audit("password.reset", user_id=user.id, client=client)
    if not consumed:
        raise invalid


def _live_families(user_id) -> set:
    return set(RefreshToken.objects.using(DB).filter(user_id=user_id, revoked_at__isnull=True)
               .values_list("family_id", flat=True))


def password_change(*, user_id: str, session_id: str, current_password: str, new_password: str,
                    client: Client) -> None:
    """Change the password; every other session of the account ends."""
    _limit("password_change", user_id)
    with transaction.atomic(using=DB, durable=True):
        user = User.objects.using(DB).select_for_update().get(id=user_id)
        if not user.check_password(current_password):
            _audit("password.change_refused", user_id=user.id, client=client)
            wrong = True
        else:
            wrong = False
            _password_check_policy(new_password, user)
            user.set_password(new_password)
            user.save(using=DB, update_fields=["password"])
            _sessions_end(_live_families(user.id) - {uuid.UUID(session_id)})
            _audit("password.changed", user_id=user.id, client=client)
    if wrong:
        raise Unauthorized("invalid_credentials", _("The current password is not right."))


# --- deletion ---------------------------------------------------------------------------------------------
def account_delete_request(*, user_id: str, password: str, client: Client) -> datetime:
    """Close the account now (no more logins, every session ends); personal data is
    erased after the grace period by ``accounts_erase_due``."""
    with transaction.atomic(using=DB, durable=True):
        user = User.objects.using(DB).select_for_update().get(id=user_id)
        if user.has_usable_password() and not user.check_password(password):
            wrong = True
        else:
            wrong = False
            now = timezone.now()
            user.deletion_requested_at = now
            user.is_active = False
            user.save(using=DB, update_fields=["deletion_requested_at", "is_active"])
            _sessions_end(_live_families(user.id))
            erase_after = now + DELETION_GRACE
            publish(producer=DB, type="user.deleted", aggregate_id=user.id,
                    payload=contracts.UserDeleted(user_id=str(user.id), erase_after=erase_after))
            _audit("account.deletion_requested", user_id=user.id, client=client)
    if wrong:
        raise Unauthorized("invalid_credentials", _("The password is not right."))
    return erase_after


def accounts_erase_due(*, now: datetime | None = None) -> int:
    """Erase the personal fields of accounts whose grace period is over. Safe to rerun."""
    now = now or timezone.now()
    erased = 0
    due = (User.objects.using(DB).filter(deletion_requested_at__lte=now - DELETION_GRACE, erased_at__isnull=True)
           .values_list("id", flat=True))
    for user_id in list(due):
        with transaction.atomic(using=DB, durable=True):
            user = User.objects.using(DB).select_for_update().get(id=user_id)
            user.email = None
            user.phone = None
            user.phone_hash = None
            user.display_name = ""
            user.country = ""
            user.avatar_file_id = None
            user.marketing_consent = False
            user.set_unusable_password()
            user.erased_at = now
            user.save(using=DB)
            OneTimeCode.objects.using(DB).filter(user=user).delete()
            user.groups.clear()
            AuditEvent.objects.using(DB).create(action="account.erased", user_id=user.id)
            erased += 1
    return erased


# --- roles ----------------------------------------------------------------------------------------------------
def role_grant(*, user_id: str, role: str, by_user_id: str | None, client: Client) -> None:
    _role_change(user_id=user_id, role=role, by_user_id=by_user_id, client=client, grant=True)


def role_revoke(*, user_id: str, role: str, by_user_id: str | None, client: Client) -> None:
    _role_change(user_id=user_id, role=role, by_user_id=by_user_id, client=client, grant=False)


def _role_change(*, user_id, role, by_user_id, client, grant: bool) -> None:
    if role not in contracts.ROLES:
        raise Unprocessable("unknown_role", _("This role does not exist."),
                            details={"field": "role", "allowed": list(contracts.ROLES)})
    with transaction.atomic(using=DB, durable=True):
        user = User.objects.using(DB).filter(id=user_id).first()
        if user is None:
            raise NotFound("user_not_found", _("No user has this id."))
        if not grant and str(user.id) == str(by_user_id) and role == "admin":
            raise PermissionDenied("cannot_demote_self", _("You cannot remove your own admin role."))
        group = _role_group(role)
        (user.groups.add if grant else user.groups.remove)(group)
        _audit("role.granted" if grant else "role.revoked", user_id=user.id, client=client,
               role=role, by=str(by_user_id) if by_user_id else None)


# --- object permissions (django-guardian) ---------------------------------------------------------------------
def _object_permission(kind: str, permission: str):
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    app_label, _sep, model = kind.partition(".")
    content_type = ContentType.objects.db_manager(DB).filter(app_label=app_label, model=model).first()
    perm = (Permission.objects.using(DB).filter(content_type=content_type, codename=permission).first()
            if content_type else None)
    if perm is None:
        raise NotFound("unknown_permission", _("No such permission on this kind of object."),
                       details={"kind": kind, "permission": permission})
    return content_type, perm


def object_permission_grant(*, user_id: str, permission: str, kind: str, object_id: str) -> None:
    """Grant one user a permission on one object of any domain (stored by django-guardian)."""
    from guardian.models import UserObjectPermission

    content_type, perm = _object_permission(kind, permission)
    with transaction.atomic(using=DB, durable=True):
        UserObjectPermission.objects.using(DB).get_or_create(
            user_id=user_id, permission=perm, content_type=content_type, object_pk=str(object_id))
        _audit("object_permission.granted", user_id=user_id, client=Client(), permission=permission,
               kind=kind, object_id=str(object_id))


def object_permission_revoke(*, user_id: str, permission: str, kind: str, object_id: str) -> None:
    from guardian.models import UserObjectPermission

    content_type, perm = _object_permission(kind, permission)
    with transaction.atomic(using=DB, durable=True):
        UserObjectPermission.objects.using(DB).filter(
            user_id=user_id, permission=perm, content_type=content_type, object_pk=str(object_id)).delete()
        _audit("object_permission.revoked", user_id=user_id, client=Client(), permission=permission,
               kind=kind, object_id=str(object_id))


# --- social login -----------------------------------------------------------------------------------------------
def social_login(*, identity, client: Client) -> TokenPair:
    """Log in with a verified Google/Facebook identity: the linked account, else the
    account with the same provider-verified email (linked now), else a new account."""
    _limit("social_ip", client.ip)
    with transaction.atomic(using=DB, durable=True):
        link = (SocialAccount.objects.using(DB).select_related("user")
                .filter(provider=identity.provider, subject=identity.subject).first())
        user = link.user if link else None
        email = identity.email.lower() if identity.email and identity.email_verified else None
        if user is None and email:
            user = User.objects.using(DB).filter(email=email).first()
        created = user is None
        if created:
            user = User(email=email, display_name=(identity.name or "")[:120],
                        email_verified_at=timezone.now() if email else None)
            user.set_unusable_password()
            user.save(using=DB)
            user.groups.add(_role_group("user"))
            publish(producer=DB, type="user.registered", aggregate_id=user.id, payload=contracts.UserRegistered(
                user_id=str(user.id), display_name=user.display_name, preferred_language=user.preferred_language,
                country=user.country, has_email=bool(email), has_phone=False, marketing_consent=False,
                via=identity.provider))
            _audit("user.registered", user_id=user.id, client=client, via=identity.provider)
        if not user.is_active or user.deletion_requested_at is not None:
            raise Unauthorized("invalid_credentials", _("These credentials are not valid."))
        if link is None:
            SocialAccount.objects.using(DB).create(user=user, provider=identity.provider, subject=identity.subject)
            _audit("social.linked", user_id=user.id, client=client, provider=identity.provider)
        return _session_start(user, client=client, method=identity.provider)
