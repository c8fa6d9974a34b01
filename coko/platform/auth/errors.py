"""The errors of authentication, as envelopes (see ``coko.platform.errors``).

=====================  ======  ===========================================================
exception              status  code (``WWW-Authenticate``)
=====================  ======  ===========================================================
``NotAuthenticated``   401     ``unauthorized`` (``Bearer``): no bearer token was sent
``InvalidToken``       401     ``invalid_token`` (``Bearer error="invalid_token"``);
                               ``details.reason`` says why (``malformed``, ``unknown_key``,
                               ``bad_signature``, ``wrong_audience``, ``wrong_issuer``,
                               ``not_yet_valid``, ``wrong_type``, ``bad_claims``)
``TokenExpired``       401     ``token_expired`` (same header): refresh and retry
``TokenRevoked``       401     ``token_revoked`` (same header): the token or its session
                               was revoked (logout, stolen refresh token), or a role of its
                               user was revoked since it was issued (``details.reason``
                               ``token``, ``session``, ``roles``): refresh and retry
``InsufficientPermission``  403  ``permission_denied`` (``Bearer error="insufficient_scope"``)
``ServiceUnavailable`` 503     ``service_unavailable``, ``details.dependency = "redis"``: the
                               deny-list cannot be read, so no token is accepted (fail closed)
=====================  ======  ===========================================================
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from coko.platform.errors import DomainError, ErrorCode, PermissionDenied, ServiceUnavailable

BEARER_INVALID = 'Bearer error="invalid_token"'


class NotAuthenticated(DomainError):
    """No credentials: RFC 6750 says answer with a bare ``Bearer`` challenge."""

    status, code, message = 401, "unauthorized", _("Authentication is required.")

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class InvalidToken(DomainError):
    status, code, message = 401, "invalid_token", _("The access token is invalid.")

    def __init__(self, reason: str | None = None, *, code: str | None = None,
                 message: Any = None) -> None:
        super().__init__(code, message, details={"reason": reason} if reason else None)

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": BEARER_INVALID}


class TokenExpired(InvalidToken):
    code, message = "token_expired", _("The access token has expired.")


class TokenRevoked(InvalidToken):
    code, message = "token_revoked", _("The access token has been revoked.")


class InsufficientPermission(PermissionDenied):
    message = _("You are not allowed to do this.")

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer error="insufficient_scope"'}


__all__ = [
    "InsufficientPermission",
    "InvalidToken",
    "NotAuthenticated",
    "ServiceUnavailable",
    "TokenExpired",
    "TokenRevoked",
]


# --- the codes every domain shares (domains raise these, never a look-alike of their own) -------
#: 401 with a bare Bearer challenge.
UNAUTHORIZED = ErrorCode("platform", "unauthorized", NotAuthenticated, NotAuthenticated.message)
#: 403: the caller lacks permissions (``missing_permissions``) or one of the roles (``required_roles``);
#: both keys are always there, one of them possibly empty.
PERMISSION_DENIED = ErrorCode("platform", "permission_denied", InsufficientPermission, InsufficientPermission.message,
                              details=("missing_permissions", "required_roles"))
