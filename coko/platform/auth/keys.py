"""Signing keys of access tokens: asymmetric, named by a ``kid``, rotatable.

A :class:`Key` is an Ed25519 (JWS ``EdDSA``, the default) or RSA (``RS256``,
at least 2048 bits) key with a ``kid``. A key with its private half signs and
verifies; a public key only verifies. A :class:`KeySet` holds every key that
verifies and names the one *active* key that signs new tokens.

Where the keys come from (read and validated by ``config/settings.py``, block
``# --- tokens ---``; a bad value stops start-up with one line naming the variable):

* ``COKO_JWT_PRIVATE_KEYS``: a JSON list ``[{"kid": "2026-11", "pem": "-----BEGIN PRIVATE KEY-----..."}]``
  (an entry whose ``pem`` is a public key verifies only);
* ``COKO_JWT_KEYS_DIR``: a directory of ``<kid>.pem`` files (a mounted Kubernetes Secret);
* ``COKO_JWT_ACTIVE_KID``: the key that signs (required when several private keys are
  configured; the others verify only, which is how a rotation is done);
* ``COKO_JWT_PUBLIC_KEYS_URL``: a JWKS URL, for a service that only verifies (an extracted
  domain): fetched on first use, kept ``JWKS_MAX_AGE_S``, fetched again when a token names
  an unknown ``kid`` (at most once every ``JWKS_MIN_REFRESH_S``) — see :class:`RemoteKeySet`.
* development and test, with none of the above: one Ed25519 key is generated into
  ``var/keys/`` (git-ignored, mode 0600) on first use and reused, so restarting
  ``make run`` keeps every session valid.

This module imports no Django at import time: ``config/settings.py`` uses it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from jwt.algorithms import OKPAlgorithm, RSAAlgorithm

from coko.platform import clock

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


def _check_kid(kid: Any) -> str:
    if not isinstance(kid, str) or not re.fullmatch(KID_PATTERN, kid):
        raise ValueError(f"kid {kid!r} is not valid (1-64 characters of A-Z a-z 0-9 . _ -)")
    return kid


def key_from_objects(kid: str, key: Any) -> Key:
    """A :class:`Key` from a ``cryptography`` private or public key object."""
    _check_kid(kid)
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
    _check_kid(kid)
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


# --- reading the configuration (used by config/settings.py through Env.parsed) --------------------
def parse_keys_json(value: str) -> tuple[Key, ...]:
    """``COKO_JWT_PRIVATE_KEYS``: ``[{"kid": ..., "pem": ...}, ...]``."""
    try:
        entries = json.loads(value)
    except ValueError:
        raise ValueError("is not valid JSON (expected a list of {\"kid\": ..., \"pem\": ...})") from None
    if not isinstance(entries, list) or not entries:
        raise ValueError("must be a non-empty JSON list of {\"kid\": ..., \"pem\": ...}")
    keys = []
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("pem"), str):
            raise ValueError("every entry must be an object with \"kid\" and \"pem\" strings")
        keys.append(key_from_pem(entry.get("kid"), entry["pem"]))
    _check_unique(keys)
    return tuple(keys)


def load_keys_dir(value: str | Path) -> tuple[Key, ...]:
    """``COKO_JWT_KEYS_DIR``: every ``<kid>.pem`` file of the directory."""
    directory = Path(value)
    if not directory.is_dir():
        raise ValueError(f"{str(directory)!r} is not a directory")
    files = sorted(directory.glob("*.pem"))
    if not files:
        raise ValueError(f"{str(directory)!r} holds no <kid>.pem file")
    keys = []
    for file in files:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read {file.name}: {exc.strerror}") from None
        keys.append(key_from_pem(file.stem, data))
    return tuple(keys)


def _check_unique(keys: Iterable[Key]) -> None:
    seen: set[str] = set()
    for key in keys:
        if key.kid in seen:
            raise ValueError(f"kid {key.kid!r} is configured twice")
        seen.add(key.kid)


def configuration_problem(*, keys: tuple[Key, ...], active_kid: str | None,
                          public_keys_url: str | None, production: bool) -> str | None:
    """The one-line problem (``VARIABLE: what is wrong``) of a key configuration, or None."""
    try:
        _check_unique(keys)
    except ValueError as exc:
        return f"COKO_JWT_KEYS_DIR: {exc} (also in COKO_JWT_PRIVATE_KEYS)"
    if not keys:
        if active_kid:
            return f"COKO_JWT_ACTIVE_KID: {active_kid!r} names no configured key"
        if production and not public_keys_url:
            return ("COKO_JWT_PRIVATE_KEYS: is required in production (or COKO_JWT_KEYS_DIR; "
                    "COKO_JWT_PUBLIC_KEYS_URL alone for a service that only verifies tokens)")
        return None
    try:
        choose_active(keys, active_kid)
    except ValueError as exc:
        return f"COKO_JWT_ACTIVE_KID: {exc}"
    return None


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


# --- development keys -----------------------------------------------------------------------------
def ensure_dev_keys(directory: str | Path) -> tuple[tuple[Key, ...], str]:
    """The keys of ``directory`` (created 0700), generating one Ed25519 key (0600) if it has
    none. Safe when several processes start at once (a lock file). Returns ``(keys, active
    kid)``: the most recently written private key signs."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    import fcntl

    with open(directory / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        files = sorted(directory.glob("*.pem"), key=lambda f: (f.stat().st_mtime, f.name))
        if not any(key_from_pem(f.stem, f.read_bytes()).can_sign for f in files):
            key = generate_key()
            path = directory / f"{key.kid}.pem"
            temporary = directory / f".{key.kid}.pem.tmp"
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(key_pem(key))
            os.replace(temporary, path)
            files.append(path)
    keys = tuple(key_from_pem(f.stem, f.read_bytes()) for f in files)
    active = [key.kid for key in keys if key.can_sign][-1]
    return keys, active


# --- key sets -------------------------------------------------------------------------------------
class KeySet:
    """The keys that verify, and the active one that signs (``None``: verification only)."""

    def __init__(self, keys: Iterable[Key], active_kid: str | None = None) -> None:
        keys = tuple(keys)
        _check_unique(keys)
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
            _check_kid(kid)
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
    _check_unique(keys)
    return keys


class RemoteKeySet:
    """Verification keys fetched from a JWKS URL (``COKO_JWT_PUBLIC_KEYS_URL``).

    Fetched on first use and kept ``max_age`` seconds; a token naming an unknown
    ``kid`` triggers a fetch at most once every ``min_refresh_interval`` seconds
    (rotation is picked up within a request; a flood of made-up kids costs one
    fetch per interval). A failed fetch keeps the keys already known. ``local``
    keys (if any) are consulted first and are the ones that sign.
    """

    def __init__(self, url: str, *, local: KeySet | None = None, max_age: float = 300,
                 min_refresh_interval: float = 30, timeout: float = 2.0) -> None:
        self.url = url
        self.local = local
        self.max_age = max_age
        self.min_refresh_interval = min_refresh_interval
        self.timeout = timeout
        self._remote: dict[str, Key] = {}
        self._fetched_at: float | None = None
        self._attempted_at = -float("inf")
        self._lock = threading.Lock()

    @property
    def active_kid(self) -> str | None:
        return self.local.active_kid if self.local else None

    def _fetch(self) -> None:
        import httpx

        response = httpx.get(self.url, timeout=self.timeout, follow_redirects=False)
        response.raise_for_status()
        keys = public_keys_from_jwks(response.json())
        self._remote = {key.kid: key for key in keys}
        self._fetched_at = clock.monotonic()

    def refresh(self, *, force: bool = False) -> bool:
        """Fetch the document again unless one was attempted less than
        ``min_refresh_interval`` ago; returns whether a fetch was made."""
        with self._lock:
            now = clock.monotonic()
            if not force and now - self._attempted_at < self.min_refresh_interval:
                return False
            self._attempted_at = now
            try:
                self._fetch()
            except Exception as exc:  # noqa: BLE001 - keep the known keys; callers decide
                from coko.platform.observability import get_logger

                get_logger("coko.auth").warning("jwks_fetch_failed", url=self.url,
                                                error=f"{type(exc).__name__}: {exc}"[:300])
            return True

    def get(self, kid: str) -> Key | None:
        if self.local is not None and (key := self.local.get(kid)) is not None:
            return key
        if self._fetched_at is None or clock.monotonic() - self._fetched_at > self.max_age:
            self.refresh()
        key = self._remote.get(kid)
        if key is None and self.refresh():
            key = self._remote.get(kid)
        return key

    def signing_key(self) -> Key:
        if self.local is None:
            return KeySet(()).signing_key()  # raises: this process only verifies
        return self.local.signing_key()

    def keys(self) -> tuple[Key, ...]:
        if self._fetched_at is None:
            self.refresh()
        local = self.local.keys() if self.local else ()
        kids = {key.kid for key in local}
        return (*local, *(key for kid, key in self._remote.items() if kid not in kids))

    def jwks(self) -> dict[str, list[dict[str, str]]]:
        return {"keys": [key.jwk() for key in self.keys()]}


# --- the process's keys, from settings.COKO_JWT -----------------------------------------------------
_current: KeySet | RemoteKeySet | None = None
_current_lock = threading.Lock()


def keys_from_settings(config: dict) -> KeySet | RemoteKeySet:
    """The key set ``settings.COKO_JWT`` describes (development keys generated if need be)."""
    keys, active = tuple(config.get("KEYS") or ()), config.get("ACTIVE_KID")
    if not keys and config.get("DEV_KEYS_DIR"):
        keys, generated_active = ensure_dev_keys(config["DEV_KEYS_DIR"])
        active = active or generated_active
    local = KeySet(keys, active) if keys else None
    url = config.get("PUBLIC_KEYS_URL")
    if url:
        return RemoteKeySet(url, local=local, max_age=config.get("JWKS_MAX_AGE_S", 300),
                            min_refresh_interval=config.get("JWKS_MIN_REFRESH_S", 30))
    if local is None:
        raise KeyConfigurationError(
            "no token keys configured: set COKO_JWT_PRIVATE_KEYS or COKO_JWT_KEYS_DIR "
            "(or COKO_JWT_PUBLIC_KEYS_URL to only verify)")
    return local


def current_keys() -> KeySet | RemoteKeySet:
    """This process's keys, built once from ``settings.COKO_JWT`` (rebuilt after
    :func:`reset_current_keys`, which a change of that setting in tests calls)."""
    global _current
    keys = _current
    if keys is None:
        with _current_lock:
            if _current is None:
                from django.conf import settings

                _current = keys_from_settings(settings.COKO_JWT)
            keys = _current
    return keys


def reset_current_keys() -> None:
    global _current
    with _current_lock:
        _current = None


__all__ = [
    "ALGORITHMS",
    "Key",
    "KeyConfigurationError",
    "KeySet",
    "RemoteKeySet",
    "configuration_problem",
    "current_keys",
    "ensure_dev_keys",
    "generate_key",
    "key_from_pem",
    "key_pem",
    "load_keys_dir",
    "parse_keys_json",
    "reset_current_keys",
]
