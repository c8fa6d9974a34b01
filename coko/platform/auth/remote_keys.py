"""Verification keys fetched from a JWKS URL (``COKO_JWT_PUBLIC_KEYS_URL``): an extracted
service that only verifies tokens reads the monolith's ``/.well-known/jwks.json``."""

from __future__ import annotations

import threading

from coko.platform import clock
from coko.platform.auth.key_ring import KeySet, public_keys_from_jwks
from coko.platform.auth.signing_key import Key


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
