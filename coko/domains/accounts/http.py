"""HTTP edge of the accounts domain: the brief's routes under /api/v1/auth/ (sessions, app
passwords and two-factor authentication: ``http_safety``).

Thin: parse, call a service or selector, shape the answer.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status
from pydantic import field_validator

from coko.platform.auth.ninja import BearerAuth, require_role
from coko.platform.http.openapi import error_statuses

from . import errors, selectors, services
from .http_safety import router as safety_router
from .models import User

router = Router(tags=["auth"])
bearer = BearerAuth()
admin = require_role("admin")  # checked before the body is read: a reader gets 403, never the staff schema


def _client(request: HttpRequest) -> services.Client:
    return services.Client.from_request(request)


# --- schemas ------------------------------------------------------------------------------------------------
class TokensOut(Schema):
    access_token: str
    refresh_token: str
    token_type: str = "Bearer"
    expires_in: int
    session_id: str


class ProfileOut(Schema):
    id: UUID
    email: str | None
    phone: str | None
    display_name: str
    preferred_language: str
    country: str
    avatar_file_id: UUID | None
    marketing_consent: bool
    email_verified: bool
    phone_verified: bool
    roles: list[str]
    permissions: list[str]


class RegisterStartIn(Schema):
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=32)
    preferred_language: str = Field("fr", max_length=8)


class RegisterStartOut(Schema):
    status: str = "code_sent"
    expires_in: int = Field(..., description="seconds the code stays valid")


class RegisterIn(Schema):
    email: str | None = Field(None, max_length=254)
    phone: str | None = Field(None, max_length=32)
    code: str = Field(..., min_length=4, max_length=12, description="the code sent by /auth/register/start")
    password: str = Field(..., min_length=1, max_length=256)
    display_name: str = Field("", max_length=120)
    preferred_language: str = Field("fr", max_length=8)
    country: str = Field("", max_length=2)
    marketing_consent: bool = False


class RegisterOut(Schema):
    user: ProfileOut
    tokens: TokensOut


class LoginIn(Schema):
    identifier: str = Field(..., min_length=1, max_length=254, description="email address or mobile number")
    password: str = Field(..., min_length=1, max_length=256)


class LoginChallengeOut(Schema):
    status: str = "two_factor_required"
    challenge: str = Field(..., description="single use: send it with a code to POST /auth/login/2fa")
    expires_in: int = Field(..., description="seconds the challenge stays valid")


class LoginTwoFactorIn(Schema):
    challenge: str = Field(..., min_length=1, max_length=200)
    code: str = Field(..., min_length=6, max_length=32,
                      description="the authenticator app's current code, or one of the recovery codes")


class RefreshIn(Schema):
    refresh_token: str = Field(..., min_length=1, max_length=200)


class ProfileIn(Schema):
    """Only what is sent changes; ``null`` clears the avatar, is refused for the fields that
    cannot be empty (422), and for the language is an invalid language (as any other). The
    avatar is kept or cleared here; a new one is an image of yours, chosen with
    ``PUT /api/v1/files/avatar`` (any other id: 422 ``avatar_invalid``)."""

    display_name: str | None = Field(None, max_length=120)
    preferred_language: str | None = Field(None, max_length=8)
    country: str | None = Field(None, max_length=2)
    avatar_file_id: UUID | None = None
    marketing_consent: bool | None = None

    @field_validator("display_name", "country", "marketing_consent")
    @classmethod
    def _not_null(cls, value):
        if value is None:  # only an explicit null gets here (a missing field keeps its default)
            raise ValueError("may not be null")
        return value


class VerificationRequestIn(Schema):
    channel: Literal["email", "sms"]


class VerificationConfirmIn(Schema):
    channel: Literal["email", "sms"]
    code: str = Field(..., min_length=4, max_length=12)


class ResetRequestIn(Schema):
    identifier: str = Field(..., min_length=1, max_length=254)


class ResetConfirmIn(Schema):
    identifier: str = Field(..., min_length=1, max_length=254)
    code: str = Field(..., min_length=4, max_length=12)
    new_password: str = Field(..., min_length=1, max_length=256)


class PasswordChangeIn(Schema):
    current_password: str = Field(..., min_length=1, max_length=256)
    new_password: str = Field(..., min_length=1, max_length=256)


class DeleteIn(Schema):
    password: str = Field("", max_length=256)


class DeletionOut(Schema):
    status: str = "closed"
    erase_after: str


class PermissionsOut(Schema):
    user_id: UUID
    roles: list[str]
    permissions: list[str]


class RoleIn(Schema):
    role: str = Field(..., max_length=20)


class GoogleIn(Schema):
    id_token: str = Field(..., min_length=1, max_length=4096)


class FacebookIn(Schema):
    access_token: str = Field(..., min_length=1, max_length=4096)


class Accepted(Schema):
    status: str = "accepted"


def _profile(user: User) -> dict:
    return {
        "id": user.id, "email": user.email, "phone": user.phone, "display_name": user.display_name,
        "preferred_language": user.preferred_language, "country": user.country,
        "avatar_file_id": user.avatar_file_id, "marketing_consent": user.marketing_consent,
        "email_verified": user.email_verified_at is not None,
        "phone_verified": user.phone_verified_at is not None,
        "roles": sorted(selectors.roles_for_user(user=user)),
        "permissions": sorted(selectors.permissions_for_user(user=user)),
    }


def _tokens(pair: services.TokenPair) -> dict:
    return {"access_token": pair.access_token, "refresh_token": pair.refresh_token,
            "expires_in": pair.expires_in, "session_id": pair.session_id}


def _me(request) -> User:
    user = selectors.user_get(user_id=request.auth.user_id)
    if user is None or not user.is_active:
        raise errors.USER_NOT_FOUND()
    return user


# --- routes ---------------------------------------------------------------------------------------------------
@router.post("/auth/register/start", response={202: RegisterStartOut},
             summary="Start a sign-up: send a code to the email address or mobile number",
             description="The same answer whether or not the address has an account (its owner is "
                         "then told that someone tried, and no code is sent).")
def register_start(request, body: RegisterStartIn):
    ttl = services.registration_start(client=_client(request), **body.dict())
    return Status(202, {"expires_in": int(ttl.total_seconds())})


@router.post("/auth/register", response={201: RegisterOut},
             summary="Create an account with the code sent by /auth/register/start",
             description="A wrong, expired or spent code, or an address that has an account, is the "
                         "same 422 `invalid_code`.")
def register(request, body: RegisterIn):
    user, pair = services.user_register(client=_client(request), **body.dict())
    return Status(201, {"user": _profile(user), "tokens": _tokens(pair)})


@router.post("/auth/login", response={200: TokensOut, 202: LoginChallengeOut},
             summary="Log in with an email address or mobile number",
             description="With two-factor authentication on, the answer is 202 with a challenge, not "
                         "tokens: send it with a code to `POST /auth/login/2fa` within five minutes.",
             openapi_extra=error_statuses(401))
def login(request, response: HttpResponse, body: LoginIn):
    """The answer also names this device (``X-Coko-Device`` header, ``coko_device`` cookie):
    sent back on the next logins, it keeps this device out of the account's lockout."""
    outcome = services.user_login(identifier=body.identifier, password=body.password, client=_client(request))
    if isinstance(outcome, services.LoginChallenge):
        return Status(202, {"challenge": outcome.challenge, "expires_in": outcome.expires_in})
    return _tokens_with_device(response, outcome)


@router.post("/auth/login/2fa", response=TokensOut,
             summary="Second step of a login with two-factor authentication: the code for the tokens",
             description="401 `invalid_login_challenge` when the challenge is unknown, expired, spent or "
                         "past its five attempts (log in again); 401 `invalid_two_factor_code` for a wrong "
                         "or already used code (it counts toward the login lockout, 429 `locked_out`). "
                         "A recovery code works once.",
             openapi_extra=error_statuses(401))
def login_two_factor(request, response: HttpResponse, body: LoginTwoFactorIn):
    pair = services.two_factor_login(challenge=body.challenge, code=body.code, client=_client(request))
    return _tokens_with_device(response, pair)


def _tokens_with_device(response: HttpResponse, pair: services.TokenPair) -> dict:
    response[services.DEVICE_HEADER] = pair.device_token
    response.set_cookie(services.DEVICE_COOKIE, pair.device_token, max_age=settings.ACCOUNTS_DEVICE_MAX_AGE_S,
                        secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax")
    return _tokens(pair)


@router.post("/auth/refresh", response=TokensOut, summary="Trade a refresh token for new tokens",
             openapi_extra=error_statuses(401))
def refresh(request, body: RefreshIn):
    return _tokens(services.session_refresh(refresh_token=body.refresh_token, client=_client(request)))


@router.post("/auth/logout", response={204: None}, auth=bearer, summary="End this session")
def logout(request):
    services.session_logout(user_id=request.auth.user_id, session_id=request.auth.session_id,
                            client=_client(request))
    return Status(204, None)


@router.get("/auth/profile", response=ProfileOut, auth=bearer, summary="My profile")
def profile(request):
    return _profile(_me(request))


@router.put("/auth/profile", response=ProfileOut, auth=bearer, summary="Change my profile")
def profile_update(request, body: ProfileIn):
    # the fields the client sent (null included); the schema ignores any other key
    changes = services.ProfileChanges(**body.model_dump(exclude_unset=True))
    user = services.profile_update(user_id=request.auth.user_id, changes=changes, client=_client(request))
    return _profile(user)


@router.post("/auth/verification/request", response={202: Accepted}, auth=bearer,
             summary="Send a one-time code to the account's email or phone")
def verification_request(request, body: VerificationRequestIn):
    services.verification_request(user_id=request.auth.user_id, channel=body.channel, client=_client(request))
    return Status(202, {})


@router.post("/auth/verification/confirm", response={204: None}, auth=bearer,
             summary="Prove my email or phone with the code sent to it")
def verification_confirm(request, body: VerificationConfirmIn):
    services.verification_confirm(user_id=request.auth.user_id, channel=body.channel, code=body.code,
                                  client=_client(request))
    return Status(204, None)


@router.post("/auth/password/reset", response={202: Accepted},
             summary="Send a reset code (the answer is the same whether the account exists or not)")
def password_reset(request, body: ResetRequestIn):
    services.password_reset_request(identifier=body.identifier, client=_client(request))
    return Status(202, {})


@router.post("/auth/password/reset/confirm", response={204: None},
             summary="Set a new password with a reset code (every session ends)")
def password_reset_confirm(request, body: ResetConfirmIn):
    services.password_reset_confirm(identifier=body.identifier, code=body.code,
                                    new_password=body.new_password, client=_client(request))
    return Status(204, None)


@router.post("/auth/password/change", response={204: None}, auth=bearer,
             summary="Change my password (my other sessions end)")
def password_change(request, body: PasswordChangeIn):
    services.password_change(user_id=request.auth.user_id, session_id=request.auth.session_id,
                             current_password=body.current_password, new_password=body.new_password,
                             client=_client(request))
    return Status(204, None)


@router.post("/auth/delete", response={202: DeletionOut}, auth=bearer,
             summary="Close the account; personal data is erased after the grace period")
def delete(request, body: DeleteIn):
    erase_after = services.account_delete_request(user_id=request.auth.user_id, password=body.password,
                                                  client=_client(request))
    return Status(202, {"erase_after": erase_after.isoformat()})


@router.get("/auth/user/{user_id}/permissions", response=PermissionsOut, auth=bearer,
            summary="Roles and effective permissions of a user (the user themself or an admin)")
def user_permissions(request, user_id: UUID):
    if str(user_id) != str(request.auth.user_id) and "*" not in request.auth.permissions:
        raise errors.PERMISSION_DENIED(missing_permissions=[], required_roles=["admin"])
    user = selectors.user_get(user_id=user_id)
    if user is None:
        raise errors.USER_NOT_FOUND(user_id=str(user_id))
    return {"user_id": user.id, "roles": sorted(selectors.roles_for_user(user=user)),
            "permissions": sorted(selectors.permissions_for_user(user=user))}


@router.post("/auth/users/{user_id}/roles", response={204: None}, auth=admin, summary="Grant a role (staff)")
def role_grant(request, user_id: UUID, body: RoleIn):
    services.role_grant(user_id=str(user_id), role=body.role, by_user_id=request.auth.user_id,
                        client=_client(request))
    return Status(204, None)


@router.delete("/auth/users/{user_id}/roles/{role}", response={204: None}, auth=admin,
               summary="Revoke a role (staff)")
def role_revoke(request, user_id: UUID, role: str):
    services.role_revoke(user_id=str(user_id), role=role, by_user_id=request.auth.user_id,
                         client=_client(request))
    return Status(204, None)


@router.post("/auth/social/google", response=TokensOut, summary="Log in or sign up with a Google ID token",
             description="404 `social_provider_not_configured` when this deployment has no Google client ids.",
             openapi_extra=error_statuses(401, 404))
def social_google(request, body: GoogleIn):
    return _tokens(services.social_sign_in(provider="google", token=body.id_token, client=_client(request)))


@router.post("/auth/social/facebook", response=TokensOut, summary="Log in or sign up with Facebook",
             description="404 `social_provider_not_configured` when this deployment has no Facebook app.",
             openapi_extra=error_statuses(401, 404))
def social_facebook(request, body: FacebookIn):
    return _tokens(services.social_sign_in(provider="facebook", token=body.access_token,
                                           client=_client(request)))


router.add_router("", safety_router)
