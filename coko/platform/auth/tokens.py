"""Access tokens: short-lived JWTs issued by accounts, verified anywhere without a database.

``access_token_issue(subject=..., roles=..., permissions=..., session_id=...)`` signs a
compact JWS with the active key (header ``alg``, ``kid``, ``typ: at+jwt``) and the
claims ``iss, aud, sub, iat, nbf, exp, jti, sid, typ="access", roles, permissions`` and,
once the user's roles have changed, ``rv`` (their roles version, read from Redis).

``access_token_verify(token) -> Principal`` accepts a token only if

1. its header names a known ``kid`` and exactly that key's algorithm (``EdDSA`` or
   ``RS256`` — never ``none``, never an ``HS*`` algorithm keyed with a public key:
   the algorithm is pinned by the key, not chosen by the token);
2. the signature verifies (PyJWT);
3. ``exp``/``nbf``/``iat`` hold, with ``COKO_JWT_LEEWAY_S`` of clock skew; ``iss``,
   ``aud`` and ``typ`` are this platform's; every claim above is present and well typed;
4. neither its ``jti`` nor its session is on the Redis deny-list, and its ``rv`` is its
   user's current roles version (a role revoked since it was issued refuses it) — one
   ``MGET``; Redis down → 503, see ``coko.platform.auth.denylist``.

Failures raise the 401 errors of ``coko.platform.auth.errors`` (``invalid_token``,
``token_expired``, ``token_revoked``).

**Verified-signature cache.** A client sends the same access token with every request
of its ten-minute life, and the signature check is most of the cost (an Ed25519
verification alone takes 50-150 µs depending on the CPU). Each process therefore keeps
the last ``COKO_JWT_VERIFY_CACHE_SIZE`` tokens whose signature and claims it verified,
keyed by the exact token string, with the key that verified them; a later call for the
same string re-checks the time claims (``exp``, ``nbf``), that the key is still
configured, and the deny-list — only the signature is not recomputed. Tokens that fail
are never cached; changing the keys empties the cache.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import jwt
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from coko.platform.auth import denylist
from coko.platform.auth.errors import InvalidToken, ServiceUnavailable, TokenExpired, TokenRevoked
from coko.platform import clock
from coko.platform.auth.keys import Key, KeySet, RemoteKeySet, current_keys, reset_current_keys

ADMIN_ROLE = "admin"
ALL_PERMISSIONS = "*"
TOKEN_TYPE = "access"
HEADER_TYPE = "at+jwt"  # RFC 9068
MAX_TOKEN_LENGTH = 8192
REQUIRED_CLAIMS = ["iss", "aud", "sub", "iat", "nbf", "exp", "jti", "sid", "typ"]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as the access token says (no database was asked).

    ``permissions`` are the effective permissions the accounts domain put in the
    token; ``*`` (or the ``admin`` role) means every permission.
    """

    user_id: str
    roles: frozenset[str]
    permissions: frozenset[str]
    session_id: str
    jti: str
    expires_at: datetime
    roles_version: str = ""  # the ``rv`` claim: see ``denylist.roles_changed``

    @property
    def is_admin(self) -> bool:
        return ADMIN_ROLE in self.roles or ALL_PERMISSIONS in self.permissions

    def has_permission(self, permission: str) -> bool:
        return permission in self.permissions or self.is_admin

    def has_role(self, role: str) -> bool:
        """Whether the caller has ``role``; an admin has every role."""
        return role in self.roles or self.is_admin


# --- issuing -----------------------------------------------------------------------------------
def _names(value: Iterable[str], what: str) -> list[str]:
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{what} must be a collection of strings, not a single string")
    names = sorted({str(name) for name in value})
    if not all(names):
        raise ValueError(f"{what} cannot contain an empty name")
    return names


def access_token_issue(*, subject: Any, roles: Iterable[str], permissions: Iterable[str],
                       session_id: Any, ttl: int | float | timedelta | None = None,
                       keys: KeySet | RemoteKeySet | None = None,
                       now: datetime | float | None = None, roles_version: str | None = None) -> str:
    """A signed access token for ``subject`` (the user id) in session ``session_id``.

    ``roles`` and ``permissions`` are the effective ones (``"*"`` for every permission);
    ``ttl`` defaults to ``COKO_ACCESS_TOKEN_TTL_S`` (seconds or a ``timedelta``);
    ``keys`` defaults to this process's (``now`` is for tests: the issue time);
    ``roles_version`` defaults to the subject's current one (``denylist.roles_version``,
    one Redis read). With Redis down it is left out: safe, since a token whose ``rv`` is
    not the stored one is refused — at worst the client refreshes once Redis is back.
    """
    config = settings.COKO_JWT
    seconds = config["ACCESS_TOKEN_TTL_S"] if ttl is None else (
        ttl.total_seconds() if isinstance(ttl, timedelta) else ttl)
    if seconds <= 0:
        raise ValueError("ttl must be positive")
    if not str(subject) or not str(session_id):
        raise ValueError("subject and session_id are required")
    key = (keys or current_keys()).signing_key()
    issued = int(clock.time() if now is None else
                 (now.timestamp() if isinstance(now, datetime) else now))
    claims = {
        "iss": config["ISSUER"],
        "aud": config["AUDIENCE"],
        "sub": str(subject),
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(seconds),
        "jti": uuid.uuid4().hex,
        "sid": str(session_id),
        "typ": TOKEN_TYPE,
        "roles": _names(roles, "roles"),
        "permissions": _names(permissions, "permissions"),
    }
    if roles_version is None:
        try:
            roles_version = denylist.roles_version(str(subject))
        except ServiceUnavailable:  # logged by the deny-list
            roles_version = ""
    if roles_version:
        claims["rv"] = str(roles_version)
    return jwt.encode(claims, key.private_key, algorithm=key.alg,
                      headers={"kid": key.kid, "typ": HEADER_TYPE})


# --- verifying ---------------------------------------------------------------------------------
def _header(token: str) -> dict:
    """The JOSE header, read only to find the key (PyJWT then checks the token strictly)."""
    try:
        segment = token[: token.index(".")]
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, TypeError, binascii.Error):
        raise InvalidToken("malformed") from None
    if not isinstance(header, dict):
        raise InvalidToken("malformed")
    return header


def _is_names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


class TokenVerifier:
    """Verifies access tokens against a key set, an issuer and an audience.

    The process's default (``access_token_verify``) uses the settings; an extracted
    service that only knows the JWKS document builds its own::

        verifier = TokenVerifier(keys=KeySet.from_jwks(document))
    """

    def __init__(self, *, keys: KeySet | RemoteKeySet | None = None, issuer: str | None = None,
                 audience: str | None = None, leeway: float | None = None,
                 cache_size: int | None = None, check_revocation: bool = True) -> None:
        config = settings.COKO_JWT
        self._keys = keys
        self.issuer = config["ISSUER"] if issuer is None else issuer
        self.audience = config["AUDIENCE"] if audience is None else audience
        self.leeway = config["LEEWAY_S"] if leeway is None else leeway
        self.cache_size = config["VERIFY_CACHE_SIZE"] if cache_size is None else cache_size
        self.check_revocation = check_revocation
        self._cache: dict[str, tuple[Principal, Key, int, int]] = {}
        self._cache_lock = threading.Lock()

    @property
    def keys(self) -> KeySet | RemoteKeySet:
        return self._keys if self._keys is not None else current_keys()

    def verify(self, token: str) -> Principal:
        """The caller of a valid, unrevoked token; raises ``InvalidToken`` (401) or a
        subclass, or ``ServiceUnavailable`` (503) when the deny-list is unreachable."""
        if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("malformed")
        keys = self.keys
        entry = self._cache.get(token) if self.cache_size else None
        if entry is not None and keys.get(entry[1].kid) is not entry[1]:
            self._cache.pop(token, None)  # the key was withdrawn or replaced: check again
            entry = None
        if entry is None:
            entry = self._decode(token, keys)
            if self.cache_size:
                self._remember(token, entry)
        else:
            now = clock.time()
            if entry[3] <= now - self.leeway:
                self._cache.pop(token, None)
                raise TokenExpired()
            if entry[2] > now + self.leeway:
                raise InvalidToken("not_yet_valid")
        principal = entry[0]
        if self.check_revocation:
            revoked = denylist.revocation_status(principal.jti, principal.session_id,
                                                 principal.user_id, principal.roles_version)
            if revoked is not None:
                raise TokenRevoked(revoked)
        return principal

    def _remember(self, token: str, entry: tuple[Principal, Key, int, int]) -> None:
        with self._cache_lock:
            while len(self._cache) >= self.cache_size:
                del self._cache[next(iter(self._cache))]  # oldest first
            self._cache[token] = entry

    def clear_cache(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def _decode(self, token: str, keys: KeySet | RemoteKeySet) -> tuple[Principal, Key, int, int]:
        header = _header(token)
        kid = header.get("kid")
        key = keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidToken("unknown_key")
        if header.get("alg") != key.alg:
            raise InvalidToken("bad_algorithm")
        try:
            claims = jwt.decode(
                token, key.public_key, algorithms=[key.alg], audience=self.audience,
                issuer=self.issuer, leeway=self.leeway,
                # the time claims are checked below, on the same clock as cached tokens
                options={"require": REQUIRED_CLAIMS, "strict_aud": True, "verify_exp": False,
                         "verify_nbf": False, "verify_iat": False},
            )
        except jwt.InvalidAudienceError:
            raise InvalidToken("wrong_audience") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("wrong_issuer") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("bad_signature") from None
        except jwt.InvalidAlgorithmError:
            raise InvalidToken("bad_algorithm") from None
        except (jwt.MissingRequiredClaimError, jwt.InvalidIssuedAtError):
            raise InvalidToken("bad_claims") from None
        except jwt.DecodeError:
            raise InvalidToken("malformed") from None
        except jwt.InvalidTokenError:
            raise InvalidToken("bad_claims") from None
        if claims.get("typ") != TOKEN_TYPE:
            raise InvalidToken("wrong_type")
        sub, sid, jti = claims.get("sub"), claims.get("sid"), claims.get("jti")
        roles, permissions = claims.get("roles"), claims.get("permissions")
        iat, nbf, exp = claims.get("iat"), claims.get("nbf"), claims.get("exp")
        roles_version = claims.get("rv", "")
        if not (sub and isinstance(sub, str) and sid and isinstance(sid, str) and jti
                and isinstance(jti, str) and isinstance(roles_version, str) and _is_names(roles) and _is_names(permissions)
                and all(type(value) is int for value in (iat, nbf, exp))):
            raise InvalidToken("bad_claims")
        now = clock.time()
        if exp <= now - self.leeway:
            raise TokenExpired()
        if nbf > now + self.leeway or iat > now + self.leeway:
            raise InvalidToken("not_yet_valid")
        principal = Principal(
            user_id=sub,
            roles=frozenset(roles),
            permissions=frozenset(permissions),
            session_id=sid,
            jti=jti,
            expires_at=datetime.fromtimestamp(exp, tz=timezone.utc),
            roles_version=roles_version,
        )
        return principal, key, nbf, exp


_default: TokenVerifier | None = None
_default_lock = threading.Lock()


def default_verifier() -> TokenVerifier:
    """The process's verifier (settings, current keys, deny-list, signature cache)."""
    global _default
    verifier = _default
    if verifier is None:
        with _default_lock:
            if _default is None:
                _default = TokenVerifier()
            verifier = _default
    return verifier


def access_token_verify(token: str, *, verifier: TokenVerifier | None = None) -> Principal:
    """The :class:`Principal` of a valid access token (see the module docstring)."""
    return (verifier or default_verifier()).verify(token)


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    """Tests change settings: keys, verifier and Redis client follow."""
    global _default
    if setting == "COKO_JWT":
        reset_current_keys()
        with _default_lock:
            _default = None
    if setting == "REDIS_URL":
        denylist.reset_redis_client()


__all__ = [
    "ADMIN_ROLE",
    "ALL_PERMISSIONS",
    "Principal",
    "TokenVerifier",
    "access_token_issue",
    "access_token_verify",
    "default_verifier",
]
