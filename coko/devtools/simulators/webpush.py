"""Web Push service simulator (RFC 8030 push service, RFC 8291 aes128gcm payloads, RFC 8292 VAPID).

``POST /push/{id}`` answers 201 for live subscriptions and 410 Gone for expired ones. The
simulator plays the browser too: it makes the subscriptions (``new_subscription()``, or
``POST /_subscriptions`` over HTTP) and holds their keys, so it decrypts each payload —
proving the encryption, not only the POST. Each accepted push is recorded as
``{"id", "subscription", "ttl", "payload"}`` (the payload decoded: JSON when it is JSON).

``keys_file`` (``make run``: ``var/simulators/webpush-subscriptions.json``) keeps the
subscriptions' keys across restarts, so a subscription registered on a device stays readable.
"""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from pathlib import Path
from typing import Any

from .base import Answer, RecordedRequest, Simulator

DEFAULT_PORT = 9104
SUBSCRIPTIONS_PATH = "/_subscriptions"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class WebPushSimulator(Simulator):
    name = "webpush"
    default_port = DEFAULT_PORT

    def __init__(self, *, keys_file: str | Path | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self._keys: dict[str, tuple[Any, bytes]] = {}
        self.gone: set[str] = set()
        self.received: list[dict[str, Any]] = []
        self.keys_file = Path(keys_file) if keys_file else None
        if self.keys_file is not None and self.keys_file.exists():
            from cryptography.hazmat.primitives.asymmetric import ec

            for sub_id, saved in json.loads(self.keys_file.read_text(encoding="utf-8")).items():
                key = ec.derive_private_key(int(saved["d"], 16), ec.SECP256R1())
                self._keys[sub_id] = (key, _unb64(saved["auth"]))

    def new_subscription(self, *, gone: bool = False) -> dict[str, Any]:
        """A PushSubscription JSON (as the browser's ``subscription.toJSON()``)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        sub_id = secrets.token_urlsafe(16)
        key = ec.generate_private_key(ec.SECP256R1())
        auth = secrets.token_bytes(16)
        with self._lock:
            self._keys[sub_id] = (key, auth)
            if gone:
                self.gone.add(sub_id)
            if self.keys_file is not None:
                saved = {sid: {"d": f"{k.private_numbers().private_value:x}", "auth": _b64(a)}
                         for sid, (k, a) in self._keys.items()}
                self.keys_file.parent.mkdir(parents=True, exist_ok=True)
                self.keys_file.write_text(json.dumps(saved), encoding="utf-8")
                self.keys_file.chmod(0o600)
        public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        return {"endpoint": f"{self.url}/push/{sub_id}", "expirationTime": None,
                "keys": {"p256dh": _b64(public), "auth": _b64(auth)}}

    def _dispatch(self, req: RecordedRequest) -> Answer:
        if req.method == "POST" and req.path == SUBSCRIPTIONS_PATH:  # the developer's "browser"
            return Answer.json(201, self.new_subscription())
        return super()._dispatch(req)

    def handle(self, req: RecordedRequest) -> Answer:
        if req.method != "POST" or not req.path.startswith("/push/"):
            return Answer(404)
        sub_id = req.path[len("/push/"):]
        if sub_id not in self._keys:
            return Answer(404, b"Subscription not found")
        if sub_id in self.gone:
            return Answer(410, b"push subscription has unsubscribed or expired.")
        if not req.headers.get("authorization", "").startswith("vapid t="):
            return Answer(401, b"VAPID authorization required")
        failure = self._pop_failure()
        if failure is not None:
            return Answer(failure.status, b"", self._retry_headers(failure))
        if req.headers.get("content-encoding") != "aes128gcm":
            return Answer(415, b"Unsupported Content-Encoding")
        import http_ece

        key, auth = self._keys[sub_id]
        try:
            plaintext = http_ece.decrypt(req.body, private_key=key, auth_secret=auth, version="aes128gcm")
        except Exception:
            return Answer(400, b"Payload could not be decrypted")
        msg_id = uuid.uuid4().hex
        with self._lock:
            self.received.append({"id": msg_id, "subscription": sub_id, "payload": plaintext, "ttl": req.headers.get("ttl"),
                                  "authorization": req.headers.get("authorization")})
        try:
            payload: Any = json.loads(plaintext)
        except ValueError:
            payload = plaintext.decode("utf-8", "replace")
        self.record({"id": msg_id, "subscription": sub_id, "ttl": req.headers.get("ttl"), "payload": payload})
        return Answer(201, b"", {"Location": f"{self.url}/message/{msg_id}"})


def vapid_private_key(path: str | Path) -> str:
    """A VAPID private key for ``make run`` (``WEBPUSH_VAPID_PRIVATE_KEY``: base64url of the raw
    P-256 scalar, as py_vapid reads it), made once and kept in ``path``."""
    path = Path(path)
    if path.exists() and path.read_text(encoding="utf-8").strip():
        return path.read_text(encoding="utf-8").strip()
    from cryptography.hazmat.primitives.asymmetric import ec

    key = _b64(ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value.to_bytes(32, "big"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key + "\n", encoding="utf-8")
    path.chmod(0o600)
    return key
