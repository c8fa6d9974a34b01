"""The key ring: every key that verifies, and the one active key that signs new tokens.

A rotation is a change of the ring: a new key is added (verifying), then made active
(``COKO_JWT_ACTIVE_KID``), then the old one removed. :func:`choose_active` decides which
key signs; :meth:`KeySet.jwks` publishes the public keys (``/.well-known/jwks.json``) and
:meth:`KeySet.from_jwks` reads such a document back (a service that only verifies).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from coko.platform.auth.signing_key import Key, KeyConfigurationError, check_kid, key_from_objects


def check_unique(keys: Iterable[Key]) -> None:
    seen: set[str] = set()
    for key in keys:
        if key.kid in seen:
            raise ValueError(f"kid {key.kid!r} is configured twice")
        seen.add(key.kid)


def choose_active(keys: Iterable[Key], active_kid: str | None) -> str | None:
    """The kid that signs: ``active_kid``, or the only private key; ``None`` if none signs."""
    keys = list(keys)
    signing = [key for key in keys if key.can_sign]
    if active_kid:
        for key in keys:
            if key.kid == active_kid:
                if not key.can_sign:
                    raise ValueError(f"{active_kid!r} is a public key: the active key must be private")
                return active_kid
        raise ValueError(f"{active_kid!r} names no configured key "
                         f"(configured: {', '.join(k.kid for k in keys)})")
    if len(signing) > 1:
        raise ValueError("is required when several private keys are configured "
                         f"({', '.join(k.kid for k in signing)})")
    return signing[0].kid if signing else None


# --- key sets -------------------------------------------------------------------------------------
class KeySet:
    """The keys that verify, and the active one that signs (``None``: verification only)."""

    def __init__(self, keys: Iterable[Key], active_kid: str | None = None) -> None:
        keys = tuple(keys)
        check_unique(keys)
        self._keys = {key.kid: key for key in keys}
        self.active_kid = choose_active(keys, active_kid)

    def get(self, kid: str) -> Key | None:
        """The key named ``kid``, or ``None``."""
        return self._keys.get(kid)

    def signing_key(self) -> Key:
        if self.active_kid is None:
            raise KeyConfigurationError(
                "no private key here: this process only verifies tokens "
                "(configure COKO_JWT_PRIVATE_KEYS or COKO_JWT_KEYS_DIR to issue them)")
        return self._keys[self.active_kid]

    def keys(self) -> tuple[Key, ...]:
        return tuple(self._keys.values())

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        """The JWKS document (RFC 7517): every public key, the active one first."""
        ordered = sorted(self._keys.values(), key=lambda key: key.kid != self.active_kid)
        return {"keys": [key.jwk() for key in ordered]}

    @classmethod
    def from_jwks(cls, document: dict) -> "KeySet":
        """A verification-only key set from a JWKS document (as served at
        ``/.well-known/jwks.json``). Keys that are not signature keys of an allowed
        algorithm (``EdDSA``/Ed25519, ``RS256``/RSA ≥ 2048 bits) are ignored: a JWKS
        can never smuggle in a symmetric (``oct``) key or another algorithm."""
        return cls(public_keys_from_jwks(document))

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeySet(kids={list(self._keys)}, active={self.active_kid!r})"


def public_keys_from_jwks(document: Any) -> list[Key]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document (expected {\"keys\": [...]})")
    keys = []
    for jwk in document["keys"]:
        if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
            continue
        kid, kty = jwk.get("kid"), jwk.get("kty")
        try:
            check_kid(kid)
            if kty == "OKP" and jwk.get("crv") == "Ed25519" and jwk.get("alg", "EdDSA") == "EdDSA":
                public = OKPAlgorithm.from_jwk({k: v for k, v in jwk.items() if k != "d"})
            elif kty == "RSA" and jwk.get("alg", "RS256") == "RS256":
                public = RSAAlgorithm.from_jwk({k: jwk[k] for k in ("kty", "n", "e") if k in jwk})
            else:
                continue
            if hasattr(public, "public_key"):
                public = public.public_key()
            keys.append(key_from_objects(kid, public))
        except Exception:  # noqa: BLE001 - a malformed entry is skipped, never trusted
            continue
    check_unique(keys)
    return keys
