"""Social login, the verification half: whom does a Google or Facebook token name?

Two pure verifiers, no database: each takes the token a client got from the
provider's SDK and returns a :class:`SocialIdentity`, or raises one of the
errors of ``accounts.errors`` (all ``DomainError``\\ s, so the API envelope maps them by
itself; the classes are importable from here too):

* :class:`SocialTokenInvalid` (401) — forged, expired, for another app, malformed;
  ``reason`` is a stable code (``expired``, ``wrong_audience``, ``wrong_issuer``,
  ``bad_signature``, ``unknown_key``, ``not_valid``, ``other_app`` …).
* :class:`SocialProviderUnavailable` (503) — the provider could not be asked.
* :class:`SocialProviderNotConfigured` (404) — this deployment has no credentials
  for that provider.

**Google** — the ID token is checked by ``google-auth`` against the keys published at
``settings.GOOGLE_CERTS_URL``: Google's PEM certificates (``/oauth2/v1/certs``, the
default; google-auth's own default, and the path that honours a clock skew) or the
same keys as a JWK Set (``/oauth2/v3/certs``); google-auth recognises either.
Audience must be one of ``settings.GOOGLE_CLIENT_IDS`` (web, Android, iOS),
issuer ``accounts.google.com``. The certificates are kept per process for the
``Cache-Control: max-age`` Google sends with them.

**Facebook** — the access token is checked with the Graph API's ``debug_token``
(valid, issued to ``settings.FACEBOOK_APP_ID``, a user token, not expired), then the
profile is read from ``/me`` with ``appsecret_proof``. Facebook does not say whether
the e-mail it returns was verified, so ``email_verified`` is always ``False`` for it:
link a Facebook login to an existing account by e-mail only after our own check.

Outbound: both providers are called through ``coko.platform.outbound`` (the certificate
fetch through a checked ``requests`` session, the Graph API through a checked ``httpx``
client): a provider URL that resolves to a private, loopback or link-local address is
refused unless ``COKO_OUTBOUND_ALLOWED_HOSTS`` names its host, and the client gets
``social_provider_unavailable`` (503) — the address is the operator's configuration, not
the client's business; the log line says ``outbound_refused``.

Secrets: the app secret and the tokens travel in Graph API query strings, which
httpx logs at INFO; a filter on the ``httpx`` logger blanks them out.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import jwt as pyjwt
from django.conf import settings
from google.auth import exceptions as google_exceptions
from google.auth import transport as google_transport
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2 import id_token as google_id_token

from coko.platform import outbound
from coko.platform.observability import get_logger

from . import errors
from .errors import SocialProviderNotConfigured, SocialProviderUnavailable, SocialTokenInvalid

log = get_logger("coko.accounts.social")

Provider = Literal["google", "facebook"]

GOOGLE_ISSUERS = ("accounts.google.com", "https://accounts.google.com")
GOOGLE_CLOCK_SKEW_S = 10  # our clock against Google's, for iat/exp (PEM certificates)
_MAX_TOKEN_LENGTH = 8192
_MAX_CERTS_CACHE_S = 24 * 3600
# Graph API error codes that mean "try again later", not "bad token".
_FACEBOOK_TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 341, 613})
_FACEBOOK_EXPIRED_SUBCODE = 463


# --- results ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SocialIdentity:
    """Who the provider says the token holder is."""

    provider: Provider
    subject: str  # the provider's stable user id ("sub" / Facebook user id)
    email: str | None
    email_verified: bool  # trust ``email`` for linking only when True
    name: str | None


# --- Google --------------------------------------------------------------------------------
def google_identity_verify(*, id_token: str) -> SocialIdentity:
    """Verify a Google ID token (signature, expiry, audience, issuer) and read its identity."""
    client_ids = list(getattr(settings, "GOOGLE_CLIENT_IDS", None) or [])
    if not client_ids:
        raise errors.SOCIAL_PROVIDER_NOT_CONFIGURED(provider="google")
    if not isinstance(id_token, str) or not id_token or len(id_token) > _MAX_TOKEN_LENGTH:
        raise errors.SOCIAL_TOKEN_INVALID(provider="google", reason="malformed")
    try:
        claims = google_id_token.verify_token(
            id_token, _google_certs, audience=client_ids, certs_url=settings.GOOGLE_CERTS_URL,
            clock_skew_in_seconds=GOOGLE_CLOCK_SKEW_S,
        )
    except google_exceptions.TransportError as exc:
        log.warning("social_provider_unavailable", provider="google", error=str(exc)[:200])
        raise errors.SOCIAL_PROVIDER_UNAVAILABLE(provider="google") from exc
    except outbound.OutboundRefused as exc:
        log.warning("outbound_refused", provider="google", error=str(exc)[:200])
        raise errors.SOCIAL_PROVIDER_UNAVAILABLE(provider="google") from None
    except (google_exceptions.GoogleAuthError, pyjwt.PyJWTError, ValueError, TypeError,
            KeyError) as exc:
        raise errors.SOCIAL_TOKEN_INVALID(provider="google", reason=_google_reason(exc)) from exc

    # The JWK Set path (PyJWT) checks exp only when present, and neither path checks iss.
    if not all(isinstance(claims.get(claim), (int, float)) for claim in ("iat", "exp")):
        raise errors.SOCIAL_TOKEN_INVALID(provider="google", reason="malformed")
    if claims.get("iss") not in GOOGLE_ISSUERS:
        raise errors.SOCIAL_TOKEN_INVALID(provider="google", reason="wrong_issuer")
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise errors.SOCIAL_TOKEN_INVALID(provider="google", reason="malformed")
    email = _text(claims.get("email"))
    return SocialIdentity(
        provider="google",
        subject=subject,
        email=email,
        # Older tokens carried the string "true".
        email_verified=email is not None and claims.get("email_verified") in (True, "true"),
        name=_text(claims.get("name")),
    )


def _google_reason(exc: Exception) -> str:
    """A stable reason code for a google-auth (PEM) or PyJWT (JWK Set) refusal."""
    by_type = [
        (pyjwt.ExpiredSignatureError, "expired"),
        (pyjwt.InvalidAudienceError, "wrong_audience"),
        (pyjwt.InvalidSignatureError, "bad_signature"),
        (pyjwt.PyJWKClientError, "unknown_key"),
        (pyjwt.ImmatureSignatureError, "not_yet_valid"),
    ]
    for kind, reason in by_type:
        if isinstance(exc, kind):
            return reason
    text = str(exc).lower()
    by_text = [
        ("expired", "expired"),
        ("wrong audience", "wrong_audience"),
        ("could not verify token signature", "bad_signature"),
        ("certificate for key id", "unknown_key"),
        ("too early", "not_yet_valid"),
    ]
    for needle, reason in by_text:
        if needle in text:
            return reason
    return "malformed"


class _CachedResponse(google_transport.Response):
    def __init__(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self._status, self._headers, self._data = status, headers, data

    @property
    def status(self) -> int:
        return self._status

    @property
    def headers(self) -> dict[str, str]:
        return self._headers

    @property
    def data(self) -> bytes:
        return self._data


class _CertsRequest(google_transport.Request):
    """google-auth transport for the certificate endpoint: a short timeout, and each
    good answer kept (per process, per URL) for its ``Cache-Control`` max-age.

    google-auth itself fetches the certificates on every verification.
    """

    def __init__(self) -> None:
        self._inner = GoogleRequest(session=outbound.requests_session())
        self._cache: dict[str, tuple[float, _CachedResponse]] = {}
        self._lock = threading.Lock()

    def __call__(self, url, method="GET", body=None, headers=None, timeout=None, **kwargs):
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(url)
        if hit is not None and hit[0] > now:
            return hit[1]
        response = self._inner(url, method="GET", headers=headers, timeout=_timeout())
        if response.status != 200:
            raise google_exceptions.TransportError(f"certificates: HTTP {response.status}")
        try:
            certs = json.loads(response.data)
        except ValueError:
            certs = None
        if not isinstance(certs, dict):
            raise google_exceptions.TransportError("certificates: not a JSON object")
        answer = _CachedResponse(response.status, dict(response.headers), response.data)
        max_age = _max_age(response.headers)
        if max_age > 0:
            with self._lock:
                self._cache[url] = (now + max_age, answer)
        return answer

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


def _max_age(headers) -> int:
    control = (headers.get("Cache-Control") or "").lower()
    if "no-store" in control or "no-cache" in control:
        return 0
    match = re.search(r"max-age=(\d+)", control)
    if not match:
        return 0
    age = headers.get("Age") or "0"
    return max(0, min(int(match.group(1)) - (int(age) if age.isdigit() else 0), _MAX_CERTS_CACHE_S))


_google_certs = _CertsRequest()


# --- Facebook ------------------------------------------------------------------------------
def facebook_identity_verify(*, access_token: str) -> SocialIdentity:
    """Check a Facebook user access token with ``debug_token`` and read its ``/me`` profile."""
    app_id = getattr(settings, "FACEBOOK_APP_ID", None)
    app_secret = getattr(settings, "FACEBOOK_APP_SECRET", None)
    if not app_id or not app_secret:
        raise errors.SOCIAL_PROVIDER_NOT_CONFIGURED(provider="facebook")
    if (not isinstance(access_token, str) or not access_token
            or len(access_token) > _MAX_TOKEN_LENGTH or not access_token.isprintable()):
        raise errors.SOCIAL_TOKEN_INVALID(provider="facebook", reason="malformed")
    graph = settings.FACEBOOK_GRAPH_URL.rstrip("/")

    status, body = _facebook_get(f"{graph}/debug_token", {
        "input_token": access_token, "access_token": f"{app_id}|{app_secret}"})
    data = body.get("data")
    if status != 200 or "error" in body or not isinstance(data, dict):
        # An error outside ``data`` is about our app token (credentials, limits), not the user's.
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        log.warning("facebook_debug_token_refused", status=status, code=error.get("code"),
                    message=str(error.get("message", ""))[:200])
        raise errors.SOCIAL_PROVIDER_UNAVAILABLE(provider="facebook")
    expires_at = data.get("expires_at")
    expired = isinstance(expires_at, int) and 0 < expires_at <= time.time()
    if not data.get("is_valid"):
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        expired = expired or error.get("subcode") == _FACEBOOK_EXPIRED_SUBCODE
        raise errors.SOCIAL_TOKEN_INVALID(provider="facebook", reason="expired" if expired else "not_valid")
    if str(data.get("app_id")) != str(app_id):
        raise errors.SOCIAL_TOKEN_INVALID(provider="facebook", reason="other_app")
    if data.get("type", "USER") != "USER" or not data.get("user_id"):
        raise errors.SOCIAL_TOKEN_INVALID(provider="facebook", reason="not_user_token")
    if not isinstance(expires_at, int):
        raise errors.SOCIAL_TOKEN_INVALID(provider="facebook", reason="malformed")
    if expired:  # 0 means "never expires" to Facebook
        raise errors.SOCIAL_TOKEN_INVALID(provider="facebook", reason="expired")
    user_id = str(data["user_id"])

    status, profile = _facebook_get(f"{graph}/me", {
        "fields": "id,name,email", "access_token": access_token,
        "appsecret_proof": facebook_appsecret_proof(access_token=access_token, app_secret=app_secret)})
    if status != 200 or "error" in profile:
        error = profile.get("error") if isinstance(profile.get("error"), dict) else {}
        log.warning("facebook_profile_refused", status=status, code=error.get("code"),
                    message=str(error.get("message", ""))[:200])
        if error.get("code") in _FACEBOOK_TRANSIENT_CODES:
            raise errors.SOCIAL_PROVIDER_UNAVAILABLE(provider="facebook")
        raise errors.SOCIAL_TOKEN_INVALID(provider="facebook", reason="not_valid")
    if str(profile.get("id")) != user_id:
        raise errors.SOCIAL_TOKEN_INVALID(provider="facebook", reason="subject_mismatch")
    return SocialIdentity(provider="facebook", subject=user_id, email=_text(profile.get("email")),
                          email_verified=False, name=_text(profile.get("name")))


def facebook_appsecret_proof(*, access_token: str, app_secret: str) -> str:
    """Facebook's ``appsecret_proof``: hex HMAC-SHA256 of the access token, keyed by the app secret."""
    return hmac.new(app_secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def _facebook_get(url: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """GET a Graph API URL: (status, JSON object); outages and 5xx raise ``SocialProviderUnavailable``."""
    try:
        response = _http_client().get(url, params=params, timeout=_timeout())
    except outbound.OutboundRefused as exc:
        log.warning("outbound_refused", provider="facebook", error=str(exc)[:200])
        raise errors.SOCIAL_PROVIDER_UNAVAILABLE(provider="facebook") from None
    except httpx.HTTPError as exc:
        # Never chain or log the request: its URL carries the app secret.
        log.warning("social_provider_unavailable", provider="facebook",
                    error=f"{type(exc).__name__}: {exc}"[:200])
        raise errors.SOCIAL_PROVIDER_UNAVAILABLE(provider="facebook") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 500 or not isinstance(body, dict):
        log.warning("social_provider_unavailable", provider="facebook",
                    status=response.status_code)
        raise errors.SOCIAL_PROVIDER_UNAVAILABLE(provider="facebook")
    return response.status_code, body


@functools.cache
def _http_client() -> httpx.Client:
    return outbound.http_client(headers={"Accept": "application/json"}, follow_redirects=False)


# --- helpers -------------------------------------------------------------------------------
def _timeout() -> float:
    return float(getattr(settings, "SOCIAL_LOGIN_TIMEOUT_S", 5.0))


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


_SECRET_QUERY = re.compile(r"((?:access_token|input_token|appsecret_proof)=)[^&\s\"']+")


class _RedactTokens(logging.Filter):
    """Blank out tokens, the app secret and the proof from httpx's request log lines."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                _SECRET_QUERY.sub(r"\1[redacted]", str(arg)) if isinstance(arg, (httpx.URL, str))
                else arg
                for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = _SECRET_QUERY.sub(r"\1[redacted]", record.msg)
        return True


_httpx_log = logging.getLogger("httpx")
if not any(type(f).__name__ == _RedactTokens.__name__ for f in _httpx_log.filters):
    _httpx_log.addFilter(_RedactTokens())

__all__ = [
    "SocialIdentity",
    "SocialProviderNotConfigured",
    "SocialProviderUnavailable",
    "SocialTokenInvalid",
    "facebook_appsecret_proof",
    "facebook_identity_verify",
    "google_identity_verify",
]
