"""Where the keys come from: the environment, a directory, or generated in development.

Read and validated by ``config/settings.py`` (block ``# --- tokens ---``; a bad value stops
start-up with one line naming the variable). No Django here.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from coko.platform.auth.key_ring import check_unique, choose_active
from coko.platform.auth.signing_key import Key, generate_key, key_from_pem, key_pem


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
    check_unique(keys)
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


def configuration_problem(*, keys: tuple[Key, ...], active_kid: str | None,
                          public_keys_url: str | None, production: bool) -> str | None:
    """The one-line problem (``VARIABLE: what is wrong``) of a key configuration, or None."""
    try:
        check_unique(keys)
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
