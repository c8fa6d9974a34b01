"""Accounts use cases (services write; ``selectors`` read), one module per family.

Every use case is one durable transaction on the ``accounts`` alias, written the same way:
``@use_case(DB)`` (``coko.platform.services``), so its state, its audit lines and its
outbox events commit together. Two shapes recur:

* the public function *is* the use case (``profile_update``, ``role_grant`` …): a refusal
  raised inside rolls back everything, which is right because nothing was meant to stay;
* a refusal that must leave a trace (a wrong attempt counted, a replayed token's session
  ended, a failed login audited) is raised by the public function *after* a private
  ``@use_case`` step has committed and reported the outcome (``session_refresh``,
  ``verification_confirm``, ``password_change`` …).

Helpers that run inside a caller's transaction (``session_start``, ``sessions_end``,
``account_open``, ``roles_changed_audit``) say so in their docstring and are not use cases.

Families: ``registration`` (verify-first password sign-up, the one ``user.registered`` payload),
``sessions`` (login and its two-factor step, HTTP Basic credentials, refresh, logout, ending
one's sessions), ``two_factor`` (TOTP and recovery codes), ``app_passwords`` (e-reader apps
over HTTP Basic), ``profile``,
``credentials`` (one-time codes: verification, password reset; password change),
``deletion`` (closing, erasure), ``permissions`` (roles, object permissions),
``social_accounts`` (Google/Facebook sign-in), ``kosync`` (KOReader's sync: its key, its sign-up). ``from coko.domains.accounts import services``
and ``services.<name>`` keep working for every name below.
"""

from __future__ import annotations

from ._common import DB, DEVICE_COOKIE, DEVICE_HEADER, Client, email_normalize, phone_normalize
from .app_passwords import (
    APP_PASSWORDS_MAX,
    app_password_create,
    app_password_revoke,
    app_password_verify,
    basic_password_verify,
)
from .credentials import (
    CODE_MAX_ATTEMPTS,
    CODE_TTL,
    password_change,
    password_reset_confirm,
    password_reset_request,
    verification_confirm,
    verification_request,
)
from .kosync import kosync_register, kosync_verify
from .deletion import DELETION_GRACE, account_delete_request, account_erase, accounts_erase_due
from .permissions import (
    object_permission_grant,
    object_permission_revoke,
    role_grant,
    role_revoke,
    roles_changed_audit,
)
from .profile import PROFILE_FIELDS, UNSET, ProfileChanges, Unset, phone_reveal_audit, profile_update
from .registration import registration_start, signup_codes_forget, user_register, user_registered_payload
from .sessions import (
    REFRESH_TTL,
    LoginChallenge,
    TokenPair,
    admin_login_audit,
    console_credentials_verify,
    credentials_verify,
    session_end,
    session_logout,
    session_refresh,
    sessions_end_all,
    two_factor_login,
    user_login,
)
from .social_accounts import social_login, social_sign_in
from .two_factor import (
    RECOVERY_CODES,
    recovery_codes_regenerate,
    two_factor_confirm,
    two_factor_disable,
    two_factor_enrol,
    two_factor_on,
    two_factor_reset,
)

__all__ = [
    "APP_PASSWORDS_MAX",
    "CODE_MAX_ATTEMPTS",
    "CODE_TTL",
    "DB",
    "DELETION_GRACE",
    "DEVICE_COOKIE",
    "DEVICE_HEADER",
    "PROFILE_FIELDS",
    "RECOVERY_CODES",
    "REFRESH_TTL",
    "UNSET",
    "Client",
    "LoginChallenge",
    "ProfileChanges",
    "TokenPair",
    "Unset",
    "account_delete_request",
    "account_erase",
    "accounts_erase_due",
    "admin_login_audit",
    "console_credentials_verify",
    "app_password_create",
    "app_password_revoke",
    "app_password_verify",
    "basic_password_verify",
    "credentials_verify",
    "email_normalize",
    "kosync_register",
    "kosync_verify",
    "object_permission_grant",
    "object_permission_revoke",
    "password_change",
    "password_reset_confirm",
    "password_reset_request",
    "phone_normalize",
    "phone_reveal_audit",
    "profile_update",
    "recovery_codes_regenerate",
    "registration_start",
    "role_grant",
    "role_revoke",
    "roles_changed_audit",
    "session_end",
    "session_logout",
    "session_refresh",
    "sessions_end_all",
    "signup_codes_forget",
    "social_login",
    "social_sign_in",
    "two_factor_confirm",
    "two_factor_disable",
    "two_factor_enrol",
    "two_factor_login",
    "two_factor_on",
    "two_factor_reset",
    "user_login",
    "user_register",
    "user_registered_payload",
    "verification_confirm",
    "verification_request",
]
