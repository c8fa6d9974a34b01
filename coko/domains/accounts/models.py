"""Accounts tables, all in the PostgreSQL schema ``accounts``.

Django's own auth tables (groups as roles, permissions) and django-guardian's
object permissions live here too.
"""

from __future__ import annotations

import hashlib
import uuid

import pgtrigger
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone

from coko.platform.crypto import EncryptedTextField, keyed_hash
from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase

from .contracts import LANGUAGES


def kosync_key_of(md5_hex: str) -> str:
    """What is stored for the key KOReader's sync sends (the md5 of the password, in hex)."""
    return keyed_hash(md5_hex, purpose="accounts.kosync-key")


class UserManager(BaseUserManager):
    """Used by Django's own tooling (createsuperuser, the admin); use cases go through services."""

    use_in_migrations = True

    def create_user(self, email=None, password=None, **fields):
        user = self.model(email=self.normalize_email(email).lower() if email else None, **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A reader, author or staff member. Logs in with an email address or a mobile number."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True, null=True, blank=True)  # stored lower-case
    phone = EncryptedTextField(null=True, blank=True)  # E.164, encrypted at rest
    phone_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    display_name = models.CharField(max_length=120, blank=True)
    preferred_language = models.CharField(max_length=8, choices=[(c, c) for c in LANGUAGES],
                                          default="fr")
    country = models.CharField(max_length=2, blank=True)  # ISO 3166-1 alpha-2
    avatar_file_id = models.UUIDField(null=True, blank=True)  # a files-domain object
    marketing_consent = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    email_verified_at = models.DateTimeField(null=True, blank=True)
    phone_verified_at = models.DateTimeField(null=True, blank=True)
    deletion_requested_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    # KOReader's sync sends md5(password) as its key: a keyed hash of that md5 (never the md5
    # itself), kept in step with the password by ``set_password`` (``kosync_key_of``).
    kosync_key = models.CharField(max_length=64, blank=True, default="", editable=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        permissions = [
            ("read_books", "Read books"),
            ("write_reviews", "Write reviews"),
            ("download_books", "Download books"),
            ("publish_books", "Publish books"),
            ("manage_royalties", "Manage royalties"),
        ]

    def __str__(self) -> str:
        return self.email or self.display_name or str(self.id)

    def set_password(self, raw_password) -> None:
        """Django's, and the KOReader sync key of the same password (cleared with an unusable one)."""
        super().set_password(raw_password)
        self.kosync_key = kosync_key_of(hashlib.md5(raw_password.encode()).hexdigest()) if raw_password else ""


class SocialAccount(models.Model):
    """A Google or Facebook identity linked to an account."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="social_accounts")
    provider = models.CharField(max_length=20)
    subject = models.CharField(max_length=255)  # the provider's user id
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "subject"], name="accounts_social_once")]


class RefreshToken(models.Model):
    """One refresh token of a session (a *family*). Tokens rotate on every use;
    presenting a spent one revokes the whole family (theft detection)."""

    id = models.BigAutoField(primary_key=True)
    family_id = models.UUIDField(db_index=True)  # the session id (``sid`` claim)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="refresh_tokens")
    token_hash = models.CharField(max_length=64, unique=True)  # keyed hash; the token is never stored
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "revoked_at"], name="accounts_rt_user_live")]


class AppPassword(models.Model):
    """A password for one e-reader app (OPDS over HTTP Basic), so the account's own password
    is never stored in a reader app. Random, shown once, kept as a keyed hash; deleted when
    revoked (the audit log keeps the trace)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="app_passwords")
    name = models.CharField(max_length=60)
    secret_hash = models.CharField(max_length=64, unique=True)  # keyed hash; the password is never stored
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)  # updated at most once a minute

    def __str__(self) -> str:
        return self.name


class TwoFactor(models.Model):
    """An account's TOTP authenticator (RFC 6238). Two-factor authentication is on once the
    first code has confirmed it (``confirmed_at``); before that the row is an enrolment."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, primary_key=True, related_name="two_factor")
    secret = EncryptedTextField()  # base32, encrypted at rest
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_step = models.BigIntegerField(default=0)  # the last time step a code was accepted for (no replay)


class RecoveryCode(models.Model):
    """A single-use code that stands in for the authenticator (ten per account, kept hashed)."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "code_hash"], name="accounts_recovery_code")]


class CodeBase(models.Model):
    """A one-time code kept as a keyed hash: short-lived, few attempts, spent once
    (``services.credentials.code_attempt``)."""

    id = models.BigAutoField(primary_key=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class OneTimeCode(CodeBase):
    """A verification or password-reset code of an account."""

    class Purpose(models.TextChoices):
        VERIFY_EMAIL = "verify_email"
        VERIFY_PHONE = "verify_phone"
        PASSWORD_RESET = "password_reset"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="one_time_codes")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)

    class Meta:
        indexes = [models.Index(fields=["user", "purpose", "consumed_at"], name="accounts_otc_live")]


class SignupCode(CodeBase):
    """A sign-up code sent to an address that has no account yet (verify-first sign-up).

    Found by the address's keyed hash; the address itself is encrypted, kept only to send
    the code, and forgotten with the row once it has expired. A row is written for a taken
    address too (with a code nobody is sent): both branches of a sign-up do the same work.
    """

    address_hash = models.CharField(max_length=64)
    channel = models.CharField(max_length=8, choices=[("email", "email"), ("sms", "sms")])
    address = EncryptedTextField()  # the email (lower-case) or the phone (E.164)
    language = models.CharField(max_length=8, choices=[(c, c) for c in LANGUAGES], default="fr")

    class Meta:
        indexes = [models.Index(fields=["address_hash", "consumed_at"], name="accounts_signup_live"),
                   models.Index(fields=["expires_at"], name="accounts_signup_expiry")]


class AuditEvent(models.Model):
    """Append-only security log: PostgreSQL refuses UPDATE and DELETE on it."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    user_id = models.UUIDField(null=True, blank=True, db_index=True)  # no FK: outlives erasure
    action = models.CharField(max_length=40)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        triggers = [
            pgtrigger.Protect(name="audit_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"


class OutboxEvent(OutboxEventBase):
    """Events the accounts domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the accounts domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events an accounts handler failed on after every retry; staff replay them."""
