"""django-ninja auth classes: bearer access tokens, permissions and roles.

Route level (ninja calls the object with the request)::

    from coko.platform.auth.ninja import BearerAuth, OptionalBearerAuth, require_permission, require_role

    @router.get("/books/{book_id}/download", auth=require_permission("download_books"))
    def download(request, book_id: UUID):
        request.principal.user_id            # also request.auth

    router = Router(auth=BearerAuth())       # every operation of a router
    @router.get("/books", auth=OptionalBearerAuth())   # anonymous allowed, principal or None

Inside an operation (same objects, called with the request; the principal already
verified for this request is reused, not verified again)::

    principal = require_role("author")(request)      # 401 / 403 envelopes when refused

Outcomes: no ``Authorization: Bearer`` header → 401 ``unauthorized`` (``WWW-Authenticate:
Bearer``); a bad token → 401 ``invalid_token`` / ``token_expired`` / ``token_revoked``;
a missing permission or role → 403 ``permission_denied`` (``details`` names what is
missing); deny-list unreachable → 503. A token that is sent is always checked, even
on an anonymous-friendly route: a client with a stale token learns it must refresh.

Because a missing token raises (so that a call inside an operation can never pass
silently), put ``BearerAuth`` last in a list of alternative auth classes.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest
from ninja.security import HttpBearer

from coko.platform.auth.errors import PERMISSION_DENIED, NotAuthenticated
from coko.platform.auth.tokens import Principal, access_token_verify

_UNSET = object()


class _Anonymous:
    """``request.auth`` of an anonymous call on an ``OptionalBearerAuth`` route (ninja needs
    a true value); ``request.principal`` is ``None`` then."""

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return "ANONYMOUS"


ANONYMOUS = _Anonymous()


def bearer_token(request: HttpRequest) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or ``None``."""
    # META first (a real request: no HttpHeaders built); headers for hand-built requests
    value = request.META.get("HTTP_AUTHORIZATION") or request.headers.get("Authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


class BearerAuth(HttpBearer):
    """Authenticates with a bearer access token; sets ``request.principal``.

    ``permissions``: all required; ``roles``: any one suffices. The ``admin`` role
    (or the ``*`` permission) passes every check. ``optional=True`` lets anonymous
    calls through with ``request.principal = None``.
    """

    openapi_bearerFormat = "JWT"

    def __init__(self, *, permissions: Iterable[str] = (), roles: Iterable[str] = (),
                 optional: bool = False) -> None:
        super().__init__()
        self.permissions = tuple(permissions)
        self.roles = frozenset(roles)
        self.optional = optional

    def __call__(self, request: HttpRequest) -> Principal | _Anonymous:
        principal = request.__dict__.get("principal", _UNSET)
        if principal is _UNSET:
            token = bearer_token(request)
            principal = None if token is None else self.authenticate(request, token)
            request.principal = principal
        if principal is None:
            if self.optional and not (self.permissions or self.roles):
                return ANONYMOUS
            raise NotAuthenticated()
        self.check(principal)
        return principal

    def authenticate(self, request: HttpRequest, token: str) -> Principal:
        return access_token_verify(token)

    def check(self, principal: Principal) -> None:
        """Raise 403 unless ``principal`` has every permission and one of the roles."""
        missing = [name for name in self.permissions if not principal.has_permission(name)]
        if missing:
            raise PERMISSION_DENIED(missing_permissions=missing, required_roles=[])
        if self.roles and not (principal.is_admin or principal.roles & self.roles):
            raise PERMISSION_DENIED(missing_permissions=[], required_roles=sorted(self.roles))


class OptionalBearerAuth(BearerAuth):
    """Anonymous calls pass (``request.principal is None``); a token, if sent, must be valid."""

    def __init__(self) -> None:
        super().__init__(optional=True)


def require_permission(*permissions: str) -> BearerAuth:
    """Auth requiring every one of ``permissions`` (``admin`` / ``*`` has them all)."""
    if not permissions:
        raise ValueError("name at least one permission")
    return BearerAuth(permissions=permissions)


def require_role(*roles: str) -> BearerAuth:
    """Auth requiring any one of ``roles`` (``admin`` has them all)."""
    if not roles:
        raise ValueError("name at least one role")
    return BearerAuth(roles=roles)


__all__ = [
    "ANONYMOUS",
    "BearerAuth",
    "OptionalBearerAuth",
    "bearer_token",
    "require_permission",
    "require_role",
]
