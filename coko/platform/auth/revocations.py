"""Each process's own copy of the deny-list, kept current by Redis pub/sub.

Reading the deny-list from Redis on every request cost a round trip (≈ 100 µs, most of
what authentication cost). Instead every process keeps the live revocations in memory
and is told of each new one:

* a revocation (``denylist.token_revoke`` …) writes, in one ``MULTI``, its key (as before),
  its entry in the index ``<ns>:auth:deny:index`` (a sorted set scored by expiry) and a
  ``PUBLISH`` on ``<ns>:auth:deny:events``;
* a process's mirror (started by its first verification, after any fork: one per pid)
  subscribes, then copies the index (every revocation still live), then applies each
  message as it comes, in publication order — the index and the message of a
  revocation are written atomically, so nothing falls between the copy and the stream;
* while the process is verifying tokens, the mirror PINGs on its subscription every
  ``PING_S``. Redis answers a subscriber in order, so a PONG proves every revocation
  published before the PING was sent has been applied. The mirror is trusted only while
  its last confirmed PING was sent less than ``TRUST_S`` ago: a revocation is honoured
  everywhere within ``TRUST_S`` (0.8 s) of being acknowledged, even if the subscription
  silently died. An untrusted mirror (starting, reconnecting, GIL-starved, overflowing,
  idle for a while) is not consulted: the verification reads Redis itself (``MGET``),
  which fails closed with a 503 when Redis is down, exactly as before.

The mirror is bounded: entries leave when the tokens they refuse expire; above
``MAX_ENTRIES`` live entries it stops being trusted (Redis is read instead) rather than
forget one. The process that revokes applies the revocation to its own mirror at once.
"""

from __future__ import annotations

import os
import threading
import time

import redis
from redis.exceptions import RedisError

from coko.platform import clock
from coko.platform.observability import get_logger

log = get_logger("coko.auth")

PING_S = 0.2  # a confirmation this often while tokens are being verified
TRUST_S = 0.8  # the mirror answers only if its last confirmed PING is younger than this
ACTIVE_S = 30.0  # PINGs stop this long after the last verification (an idle process is quiet)
IDLE_WAKE_S = 1.0  # how often an idle subscriber looks whether it is wanted again
SILENT_S = 3.0  # PINGs unanswered this long: the connection is dead, subscribe again
MAX_ENTRIES = 200_000

TOKEN, SESSION, ROLES = "jti", "sid", "rv"


def index_key(namespace: str) -> str:
    return f"{namespace}:auth:deny:index"


def channel(namespace: str) -> str:
    return f"{namespace}:auth:deny:events"


def encode(kind: str, ident: str, expires_ms: int, version: str = "") -> str:
    """The pub/sub message of one revocation (ids hold no spaces: uuids, user ids, jtis)."""
    return f"{kind} {ident} {expires_ms} {version}".rstrip()


class Mirror:
    """The live revocations, as this process knows them."""

    def __init__(self, *, url: str, namespace: str) -> None:
        self.url, self.namespace = url, namespace
        self.pid = os.getpid()
        self.revoked: dict[tuple[str, str], float] = {}  # (kind, id) -> expiry (epoch s)
        self.roles: dict[str, tuple[str, float]] = {}  # user id -> (version, expiry)
        self.synced = False
        self.confirmed_at = -1e9  # monotonic time the last confirmed PING was sent
        self.used_at = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="coko-revocations", daemon=True)
        self._thread.start()

    # --- reading (every request) -------------------------------------------------------------
    def trusted(self) -> bool:
        now = time.monotonic()
        self.used_at = now
        return self.synced and now - self.confirmed_at < TRUST_S

    def status(self, jti: str, session_id: str, user_id: str | None, roles_version: str) -> str | None:
        """As ``denylist.revocation_status``; call only when ``trusted()``."""
        now = clock.time()
        if self.revoked.get((TOKEN, jti), 0) > now:
            return "token"
        if self.revoked.get((SESSION, session_id), 0) > now:
            return "session"
        if user_id is not None:
            version, expiry = self.roles.get(user_id, ("", 0))
            if expiry > now and version != roles_version:
                return "roles"
        return None

    # --- writing ---------------------------------------------------------------------------------
    def apply(self, kind: str, ident: str, expires_ms: int, version: str = "") -> None:
        expiry = expires_ms / 1000
        with self._lock:
            if kind == ROLES:
                self.roles[ident] = (version, expiry)
            else:
                self.revoked[(kind, ident)] = max(expiry, self.revoked.get((kind, ident), 0))
            if len(self.revoked) + len(self.roles) > MAX_ENTRIES:
                self._purge()

    def _apply_message(self, data: bytes) -> None:
        kind, ident, expires_ms, *version = data.decode().split(" ")
        self.apply(kind, ident, int(expires_ms), version[0] if version else "")

    def _purge(self) -> None:
        now = clock.time()
        self.revoked = {key: expiry for key, expiry in self.revoked.items() if expiry > now}
        self.roles = {user: entry for user, entry in self.roles.items() if entry[1] > now}
        if len(self.revoked) + len(self.roles) > MAX_ENTRIES:
            self.synced = False  # too many to hold: Redis is read until some expire
            log.warning("revocation mirror full; reading Redis", entries=len(self.revoked) + len(self.roles))

    def _sync(self, client: redis.Redis) -> None:
        """Copy every live revocation of the index (after subscribing: nothing is missed)."""
        now_ms = int(clock.time() * 1000)
        members = client.zrangebyscore(index_key(self.namespace), now_ms, "+inf", withscores=True)
        users = [m.decode().split(" ", 1)[1] for m, _ in members if m.startswith(b"rv ")]
        versions = client.mget([f"{self.namespace}:auth:deny:rv:{u}" for u in users]) if users else []
        current = dict(zip(users, versions))
        with self._lock:
            self.revoked.clear()
            self.roles.clear()
        for member, score in members:
            kind, ident = member.decode().split(" ", 1)
            if kind == ROLES:
                if current.get(ident) is not None:
                    self.apply(kind, ident, int(score), current[ident].decode())
            else:
                self.apply(kind, ident, int(score))
        with self._lock:
            self._purge()
            self.synced = len(self.revoked) + len(self.roles) <= MAX_ENTRIES

    # --- the subscription ------------------------------------------------------------------------
    def _run(self) -> None:
        backoff = 0.2
        while not self._stop.is_set():
            client = redis.Redis.from_url(self.url, socket_connect_timeout=1, socket_timeout=2,
                                          client_name="coko-auth-revocations")
            pubsub = client.pubsub()
            try:
                pubsub.subscribe(channel(self.namespace))
                while pubsub.get_message(timeout=2) is None:  # the subscription's confirmation
                    if self._stop.is_set():
                        return
                self._sync(client)
                backoff = 0.2
                self._listen(pubsub)
            except (RedisError, OSError, ValueError) as exc:
                self.synced = False
                log.warning("revocation mirror lost Redis; verifications read it directly",
                            error=str(exc)[:300], retry_in=backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            finally:
                self.synced = False
                for closing in (pubsub, client):
                    try:
                        closing.close()
                    except Exception:  # noqa: BLE001 - already broken
                        pass

    def _listen(self, pubsub) -> None:
        pinged_at = 0.0
        unanswered_since = None  # when the oldest unanswered PING was sent
        purged_at = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            active = now - self.used_at < ACTIVE_S
            if active and now - pinged_at >= PING_S:
                if unanswered_since is not None and now - unanswered_since > SILENT_S:
                    # a half-open connection never raises: give it up, subscribe again
                    raise redis.ConnectionError(f"no PONG for {now - unanswered_since:.1f} s")
                pubsub.ping(repr(now))
                pinged_at = now
                if unanswered_since is None:
                    unanswered_since = now
            message = pubsub.get_message(timeout=PING_S if active else IDLE_WAKE_S)
            while message is not None:
                if message["type"] == "message":
                    self._apply_message(message["data"])
                elif message["type"] == "pong" and message["data"]:
                    self.confirmed_at = max(self.confirmed_at, float(message["data"]))
                    unanswered_since = None
                message = pubsub.get_message(timeout=0)
            if now - purged_at > 60:
                purged_at = now
                with self._lock:
                    self._purge()

    def stop(self) -> None:
        self._stop.set()
