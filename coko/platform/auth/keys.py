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

The pieces: ``signing_key.py`` (one key: PEM, generation, JWK), ``key_ring.py`` (the
:class:`KeySet`, which key signs, JWKS in and out), ``key_sources.py`` (the environment,
a directory, development keys), ``remote_keys.py`` (:class:`RemoteKeySet`). This module
builds the process's keys from ``settings.COKO_JWT`` and re-exports the public names.

This module imports no Django at import time: ``config/settings.py`` uses it.
"""

from __future__ import annotations

import threading

from coko.platform.auth.key_ring import KeySet, choose_active, public_keys_from_jwks
from coko.platform.auth.key_sources import configuration_problem, ensure_dev_keys, load_keys_dir, parse_keys_json
from coko.platform.auth.remote_keys import RemoteKeySet
from coko.platform.auth.signing_key import (
    ALGORITHMS,
    KID_PATTERN,
    MIN_RSA_BITS,
    Key,
    KeyConfigurationError,
    generate_key,
    key_from_objects,
    key_from_pem,
    key_pem,
)

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
    "KID_PATTERN",
    "MIN_RSA_BITS",
    "Key",
    "KeyConfigurationError",
    "KeySet",
    "RemoteKeySet",
    "choose_active",
    "configuration_problem",
    "current_keys",
    "ensure_dev_keys",
    "generate_key",
    "key_from_objects",
    "key_from_pem",
    "key_pem",
    "keys_from_settings",
    "load_keys_dir",
    "parse_keys_json",
    "public_keys_from_jwks",
    "reset_current_keys",
]
