"""HTTP edge of account safety, under /api/v1/auth/: my sessions and devices ("log out
everywhere"), app passwords for e-reader apps, two-factor authentication (TOTP, recovery codes).

Thin: parse, call a service or selector, shape the answer. Mounted by ``http.router``.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status

from coko.platform.auth.ninja import BearerAuth
from coko.platform.http.openapi import error_statuses

from . import selectors, services
from .devices import ip_coarse, user_agent_summary

router = Router(tags=["auth"])
bearer = BearerAuth()


def _client(request: HttpRequest) -> services.Client:
    return services.Client.from_request(request)


# --- schemas ------------------------------------------------------------------------------------------------
class SessionOut(Schema):
    id: UUID = Field(..., description="the session id (the `session_id` of its tokens)")
    device: str = Field(..., description='app or browser and system, e.g. "Firefox on Android"')
    user_agent: str
    ip_network: str | None = Field(..., description="the network of the last address (IPv4 /24, IPv6 /48)")
    created_at: datetime
    last_used_at: datetime = Field(..., description="when the session last got tokens (login or refresh)")
    current: bool = Field(..., description="the session of the token making this request")


class SessionsEndedOut(Schema):
    ended: int


class AppPasswordOut(Schema):
    id: UUID
    name: str
    created_at: datetime
    last_used_at: datetime | None = Field(..., description="to the minute")


class AppPasswordCreatedOut(AppPasswordOut):
    password: str = Field(..., description="shown this once; give it to the app with your email or phone")


class AppPasswordIn(Schema):
    name: str = Field(..., min_length=1, max_length=60, description='which app, e.g. "KOReader on my Kobo"')


class TwoFactorOut(Schema):
    enabled: bool
    enabled_at: datetime | None
    recovery_codes_left: int


class EnrolIn(Schema):
    password: str = Field("", max_length=256, description="the account's password (if it has one)")


class EnrolOut(Schema):
    secret: str = Field(..., description="base32, to type into an authenticator app")
    otpauth_uri: str = Field(..., description="the same as an otpauth:// URI (for a QR code)")


class CodeIn(Schema):
    code: str = Field(..., min_length=6, max_length=32)


class ProofIn(Schema):
    password: str = Field("", max_length=256)
    code: str = Field("", max_length=32, description="an authenticator code or a recovery code")


class RecoveryCodesOut(Schema):
    recovery_codes: list[str] = Field(..., description="single use each; shown this once")


def _app_password(app_password) -> dict:
    return {"id": app_password.id, "name": app_password.name, "created_at": app_password.created_at,
            "last_used_at": app_password.last_used_at}


# --- sessions -------------------------------------------------------------------------------------------------
@router.get("/auth/sessions", response=list[SessionOut], auth=bearer, summary="My sessions and devices")
def sessions(request):
    current = str(request.auth.session_id)
    return [{"id": token.family_id, "device": user_agent_summary(token.user_agent), "user_agent": token.user_agent,
             "ip_network": ip_coarse(token.ip), "created_at": token.started_at, "last_used_at": token.created_at,
             "current": str(token.family_id) == current}
            for token in selectors.sessions_of_user(user_id=request.auth.user_id)]


@router.delete("/auth/sessions/{session_id}", response={204: None}, auth=bearer,
               summary="End one of my sessions (its tokens stop working at once)",
               description="404 `session_not_found` for an id that is not one of my live sessions.")
def session_end(request, session_id: UUID):
    services.session_end(user_id=request.auth.user_id, session_id=session_id, client=_client(request))
    return Status(204, None)


@router.delete("/auth/sessions", response=SessionsEndedOut, auth=bearer,
               summary="Log out everywhere: end all my sessions",
               description="Ends this session too, unless `keep_current=true` (then every other one).")
def sessions_end_all(request, keep_current: bool = False):
    ended = services.sessions_end_all(user_id=request.auth.user_id, client=_client(request),
                                      keep_session_id=request.auth.session_id if keep_current else None)
    return {"ended": ended}


# --- app passwords -------------------------------------------------------------------------------------------
@router.get("/auth/app-passwords", response=list[AppPasswordOut], auth=bearer,
            summary="My app passwords (for e-reader apps over HTTP Basic; never the passwords)")
def app_passwords(request):
    return [_app_password(a) for a in selectors.app_passwords_of_user(user_id=request.auth.user_id)]


@router.post("/auth/app-passwords", response={201: AppPasswordCreatedOut}, auth=bearer,
             summary="Make an app password for an e-reader app (shown once)",
             description="An OPDS app signs in with my email or phone and this password (HTTP Basic). "
                         "422 `app_password_limit` past twenty.")
def app_password_create(request, body: AppPasswordIn):
    app_password, password = services.app_password_create(user_id=request.auth.user_id, name=body.name,
                                                          client=_client(request))
    return Status(201, {**_app_password(app_password), "password": password})


@router.delete("/auth/app-passwords/{app_password_id}", response={204: None}, auth=bearer,
               summary="Revoke one app password (it stops working at once)",
               description="404 `app_password_not_found` for an id that is not one of mine.")
def app_password_revoke(request, app_password_id: UUID):
    services.app_password_revoke(user_id=request.auth.user_id, app_password_id=app_password_id,
                                 client=_client(request))
    return Status(204, None)


# --- two-factor authentication -----------------------------------------------------------------------------
@router.get("/auth/2fa", response=TwoFactorOut, auth=bearer, summary="Whether I have two-factor authentication on")
def two_factor(request):
    row, left = selectors.two_factor_state(user_id=request.auth.user_id)
    on = row is not None and row.confirmed_at is not None
    return {"enabled": on, "enabled_at": row.confirmed_at if on else None, "recovery_codes_left": left}


@router.post("/auth/2fa/enrol", response={201: EnrolOut}, auth=bearer,
             summary="Set up an authenticator app: its secret (not on until confirmed)",
             description="Needs the account's password when it has one (401 `invalid_credentials`); "
                         "409 `two_factor_already_on`. A new enrolment replaces an unconfirmed one.",
             openapi_extra=error_statuses(401))
def two_factor_enrol(request, body: EnrolIn):
    secret, uri = services.two_factor_enrol(user_id=request.auth.user_id, password=body.password or None,
                                            client=_client(request))
    return Status(201, {"secret": secret, "otpauth_uri": uri})


@router.post("/auth/2fa/confirm", response=RecoveryCodesOut, auth=bearer,
             summary="Turn two-factor authentication on with a first code: my recovery codes",
             description="422 `invalid_code`; 409 `two_factor_not_enrolled` or `two_factor_already_on`.")
def two_factor_confirm(request, body: CodeIn):
    codes = services.two_factor_confirm(user_id=request.auth.user_id, code=body.code, client=_client(request))
    return {"recovery_codes": codes}


@router.post("/auth/2fa/disable", response={204: None}, auth=bearer,
             summary="Turn two-factor authentication off (with my password or a code)",
             description="401 `invalid_credentials` (password), 422 `invalid_code` or "
                         "`two_factor_proof_required`; 409 `two_factor_off`.",
             openapi_extra=error_statuses(401))
def two_factor_disable(request, body: ProofIn):
    services.two_factor_disable(user_id=request.auth.user_id, password=body.password or None,
                                code=body.code or None, client=_client(request))
    return Status(204, None)


@router.post("/auth/2fa/recovery-codes", response=RecoveryCodesOut, auth=bearer,
             summary="New recovery codes (the earlier ones stop working; with my password or a code)",
             description="Errors as for `/auth/2fa/disable`.", openapi_extra=error_statuses(401))
def recovery_codes_regenerate(request, body: ProofIn):
    codes = services.recovery_codes_regenerate(user_id=request.auth.user_id, password=body.password or None,
                                               code=body.code or None, client=_client(request))
    return {"recovery_codes": codes}
