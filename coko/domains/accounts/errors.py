"""Every error the accounts domain answers: one code, one message, one shape of details.

Services, the HTTP edge, the facade and the social verifiers raise these, never a
literal ``Unprocessable("code", ...)``::

    from . import errors

    raise errors.INVALID_CODE(field="code")

Messages are lazy translations; the French ones live in ``locale/fr/LC_MESSAGES/django.po``.
Codes, statuses and detail keys are part of the API: clients branch on them.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from coko.platform.auth import errors as auth_errors
from coko.platform.errors import (
    Conflict,
    DomainError,
    ErrorCode,
    NotFound,
    PermissionDenied,
    ServiceUnavailable,
    Unauthorized,
    Unprocessable,
)

DOMAIN = "accounts"


# --- the social sign-in refusals keep their own classes (callers catch them by kind) --------------
class SocialTokenInvalid(Unauthorized):
    """401: the provider's token does not prove an identity for this app.

    ``reason`` is a stable code (``expired``, ``wrong_audience``, ``malformed`` …)."""

    @property
    def reason(self) -> str:
        return self.details["reason"]

    @property
    def provider(self) -> str | None:
        return self.details["provider"]


class SocialProviderUnavailable(ServiceUnavailable):
    """503: the provider could not be reached or answered badly."""

    @property
    def provider(self) -> str:
        return self.details["provider"]


class SocialProviderNotConfigured(DomainError):
    """404: this deployment has no credentials for the provider — the route is not there
    for it (a 503 would tell clients to retry, and a fuzzer to report a server error)."""

    status = 404

    @property
    def provider(self) -> str:
        return self.details["provider"]


# --- registration and profile ---------------------------------------------------------------------
LOGIN_REQUIRED = ErrorCode(DOMAIN, "login_required", Unprocessable,
                           _("Give an email address or a mobile number."), details=("fields",))
INVALID_EMAIL = ErrorCode(DOMAIN, "invalid_email", Unprocessable, _("Enter a valid email address."),
                          details=("field",))
INVALID_PHONE = ErrorCode(DOMAIN, "invalid_phone", Unprocessable,
                          _("Enter a valid mobile number with its country code, like +221 77 123 45 67."),
                          details=("field",))
INVALID_LANGUAGE = ErrorCode(DOMAIN, "invalid_language", Unprocessable, _("This language is not accepted here."),
                             details=("field", "value"))
WEAK_PASSWORD = ErrorCode(DOMAIN, "weak_password", Unprocessable, _("This password is not allowed."),
                          details=("field", "reasons"))
ONE_ADDRESS = ErrorCode(DOMAIN, "one_address", Unprocessable,
                        _("Sign up with an email address or a mobile number, not both."), details=("fields",))

# an avatar is chosen among the user's own images through the files domain, which knows who owns
# which file (accounts calls no other domain): PUT /auth/profile may only keep or clear it
AVATAR_INVALID = ErrorCode(DOMAIN, "avatar_invalid", Unprocessable,
                           _("An avatar must be an image you uploaded, chosen with PUT /api/v1/files/avatar."),
                           details=("field",))

# --- sessions and credentials ---------------------------------------------------------------------
INVALID_CREDENTIALS = ErrorCode(DOMAIN, "invalid_credentials", Unauthorized,
                                _("These credentials are not valid."))
INVALID_REFRESH_TOKEN = ErrorCode(DOMAIN, "invalid_refresh_token", Unauthorized,
                                  _("This session has ended. Log in again."))

# --- account safety: sessions, app passwords, two-factor authentication ----------------------------
SESSION_NOT_FOUND = ErrorCode(DOMAIN, "session_not_found", NotFound, _("You have no session with this id."),
                              details=("session_id",))
APP_PASSWORD_NOT_FOUND = ErrorCode(DOMAIN, "app_password_not_found", NotFound,
                                   _("You have no app password with this id."), details=("app_password_id",))
APP_PASSWORD_LIMIT = ErrorCode(DOMAIN, "app_password_limit", Unprocessable,
                               _("You have as many app passwords as allowed: revoke one first."),
                               details=("limit",))
TWO_FACTOR_ALREADY_ON = ErrorCode(DOMAIN, "two_factor_already_on", Conflict,
                                  _("Two-factor authentication is already on."))
TWO_FACTOR_OFF = ErrorCode(DOMAIN, "two_factor_off", Conflict, _("Two-factor authentication is not on."))
TWO_FACTOR_NOT_ENROLLED = ErrorCode(DOMAIN, "two_factor_not_enrolled", Conflict,
                                    _("Start setting up two-factor authentication first."))
TWO_FACTOR_PROOF_REQUIRED = ErrorCode(DOMAIN, "two_factor_proof_required", Unprocessable,
                                      _("Give your password or a code from your authenticator app."),
                                      details=("fields",))
INVALID_LOGIN_CHALLENGE = ErrorCode(DOMAIN, "invalid_login_challenge", Unauthorized,
                                    _("This sign-in has expired. Log in again."))
INVALID_TWO_FACTOR_CODE = ErrorCode(DOMAIN, "invalid_two_factor_code", Unauthorized,
                                    _("This code is not valid. Use the current code of your authenticator "
                                      "app or one of your recovery codes."))

# --- one-time codes -------------------------------------------------------------------------------
INVALID_CODE = ErrorCode(DOMAIN, "invalid_code", Unprocessable, _("This code is not valid or has expired."),
                         details=("field",))
NO_DESTINATION = ErrorCode(DOMAIN, "no_destination", Unprocessable,
                           _("This account has no such contact to verify."), details=("field",))
CHANNEL_NOT_CONFIGURED = ErrorCode(DOMAIN, "channel_not_configured", Unprocessable,
                                   _("This server is not set up to send on this channel."),
                                   details=("channels",))

# --- users, roles and permissions -----------------------------------------------------------------
USER_NOT_FOUND = ErrorCode(DOMAIN, "user_not_found", NotFound, _("No user has this id."), details=("user_id",))
UNKNOWN_ROLE = ErrorCode(DOMAIN, "unknown_role", Unprocessable, _("This role does not exist."),
                         details=("field", "allowed"))
CANNOT_DEMOTE_SELF = ErrorCode(DOMAIN, "cannot_demote_self", PermissionDenied,
                               _("You cannot remove your own admin role."))
SUPERUSER_IS_ADMIN = ErrorCode(DOMAIN, "superuser_is_admin", Conflict,
                               _("This user is a superuser and stays an admin: remove the superuser "
                                 "status in the admin console first."), details=("user_id",))
UNKNOWN_PERMISSION = ErrorCode(DOMAIN, "unknown_permission", NotFound,
                               _("No such permission on this kind of object."), details=("kind", "permission"))
PERMISSION_DENIED = auth_errors.PERMISSION_DENIED  # the platform's: one code, one shape in every domain

# --- social sign-in -------------------------------------------------------------------------------
SOCIAL_TOKEN_INVALID = ErrorCode(DOMAIN, "social_token_invalid", SocialTokenInvalid,
                                 _("The sign-in token from the provider is invalid or expired."),
                                 details=("provider", "reason"))
SOCIAL_PROVIDER_UNAVAILABLE = ErrorCode(DOMAIN, "social_provider_unavailable", SocialProviderUnavailable,
                                        _("The sign-in provider cannot be reached. Try again later."),
                                        details=("provider",))
SOCIAL_PROVIDER_NOT_CONFIGURED = ErrorCode(DOMAIN, "social_provider_not_configured", SocialProviderNotConfigured,
                                           _("Signing in with this provider is not available."),
                                           details=("provider",))
