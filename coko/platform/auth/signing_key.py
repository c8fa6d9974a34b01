"""One signing key of access tokens: what it is, where its bytes come from, a new one.

A :class:`Key` is an Ed25519 (JWS ``EdDSA``, the default) or RSA (``RS256``, at least
2048 bits) key named by a ``kid``. With its private half it signs and verifies; a public
key only verifies. Built from ``cryptography`` objects or PEM, written back as PEM,
generated for development. No Django: ``config/settings.py`` uses it (through ``keys``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

KID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
ALGORITHMS = ("EdDSA", "RS256")
MIN_RSA_BITS = 2048


class KeyConfigurationError(Exception):
    """The keys cannot sign or verify as asked (a deployment mistake, not a client's)."""


# --- one key --------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class Key:
    """A named signing key. ``private_key`` is ``None`` for a verification-only key."""

    kid: str
    alg: str
    public_key: Any
    private_key: Any = None

    @property
    def can_sign(self) -> bool:
        return self.private_key is not None

    def jwk(self) -> dict[str, str]:
        """The public JWK (RFC 7517) of this key, with ``kid``, ``alg`` and ``use``."""
        if self.alg == "EdDSA":
            jwk = OKPAlgorithm.to_jwk(self.public_key, as_dict=True)
        else:
            jwk = RSAAlgorithm.to_jwk(self.public_key, as_dict=True)
        jwk = {name: value for name, value in jwk.items() if name not in {"key_ops"}}
        return {**jwk, "kid": self.kid, "alg": self.alg, "use": "sig"}

    def thumbprint(self) -> str:
        """The RFC 7638 JWK thumbprint (base64url SHA-256 of the required members)."""
        jwk = self.jwk()
        members = ("crv", "kty", "x") if jwk["kty"] == "OKP" else ("e", "kty", "n")
        canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
        digest = hashlib.sha256(canonical.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def __repr__(self) -> str:  # never the key material
        return f"Key(kid={self.kid!r}, alg={self.alg!r}, can_sign={self.can_sign})"



def check_kid(kid: Any) -> str:
    if not isinstance(kid, str) or not re.fullmatch(KID_PATTERN, kid):
        raise ValueError(f"kid {kid!r} is not valid (1-64 characters of A-Z a-z 0-9 . _ -)")
    return kid


def key_from_objects(kid: str, key: Any) -> Key:
    """A :class:`Key` from a ``cryptography`` private or public key object."""
    check_kid(kid)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return Key(kid, "EdDSA", key.public_key(), key)
    if isinstance(key, ed25519.Ed25519PublicKey):
        return Key(kid, "EdDSA", key)
    if isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        if key.key_size < MIN_RSA_BITS:
            raise ValueError(f"key {kid!r}: RSA keys need at least {MIN_RSA_BITS} bits "
                             f"(found {key.key_size})")
        if isinstance(key, rsa.RSAPrivateKey):
            return Key(kid, "RS256", key.public_key(), key)
        return Key(kid, "RS256", key)
    raise ValueError(f"key {kid!r}: only Ed25519 (EdDSA) and RSA (RS256) keys are supported, "
                     f"not {type(key).__name__}")


def key_from_pem(kid: str, pem: str | bytes) -> Key:
    """A :class:`Key` from a PEM private key (signs) or public key (verifies only)."""
    check_kid(kid)
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        loaded = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise ValueError(f"key {kid!r}: encrypted PEM keys are not supported") from None
    except (ValueError, UnsupportedAlgorithm):
        try:
            loaded = serialization.load_pem_public_key(data)
        except (ValueError, UnsupportedAlgorithm):
            raise ValueError(f"key {kid!r}: not a PEM private or public key") from None
    return key_from_objects(kid, loaded)


def generate_key(kid: str | None = None, *, alg: str = "EdDSA") -> Key:
    """A new private key (``EdDSA``: Ed25519; ``RS256``: RSA 2048). ``kid`` defaults to
    ``<alg>-`` and the first 16 characters of the key's thumbprint."""
    private = (ed25519.Ed25519PrivateKey.generate() if alg == "EdDSA"
               else rsa.generate_private_key(public_exponent=65537, key_size=MIN_RSA_BITS))
    key = key_from_objects(kid or "pending", private)
    if kid is None:
        key = Key(f"{alg.lower()}-{key.thumbprint()[:16]}", key.alg, key.public_key, key.private_key)
    return key


def key_pem(key: Key) -> str:
    """The PEM (PKCS#8 private key, or SubjectPublicKeyInfo when it only verifies)."""
    if key.private_key is not None:
        return key.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()).decode()
    return key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
