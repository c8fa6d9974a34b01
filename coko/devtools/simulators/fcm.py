"""Firebase Cloud Messaging HTTP v1 simulator, with Google's OAuth2 token endpoint.

``POST /token`` (JWT-bearer grant, as ``oauth2.googleapis.com/token``) and
``POST /v1/projects/{project}/messages:send``. Point a service account's ``token_uri`` at
``sim.token_uri`` (``write_service_account`` makes such a file for ``make run``). Each
accepted message is recorded as ``{"name", "token", "notification", "data", ...}`` (the
``message`` object the platform sent, plus the name FCM gave it).
"""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any

from .base import Answer, RecordedRequest, Simulator

DEFAULT_PORT = 9103
PROJECT_ID = "coko-dev"
FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


class FcmSimulator(Simulator):
    name = "fcm"
    default_port = DEFAULT_PORT

    def __init__(self, project_id: str = "coko-test", **kw: Any) -> None:
        super().__init__(**kw)
        self.project_id = project_id
        self.valid_tokens: set[str] = set()
        self.unregistered_tokens: set[str] = set()  # -> 404 UNREGISTERED
        self.invalid_tokens: set[str] = set()  # -> 400 INVALID_ARGUMENT on message.token
        self.sent: list[dict[str, Any]] = []

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def expire_tokens(self) -> None:
        with self._lock:
            self.valid_tokens.clear()

    def send_calls(self) -> list[RecordedRequest]:
        return self.calls("/messages:send")

    @staticmethod
    def _error(code: int, status: str, message: str, error_code: str | None = None, extra: list | None = None, headers: dict[str, str] | None = None) -> Answer:
        details = ([{"@type": FCM_ERROR_TYPE, "errorCode": error_code}] if error_code else []) + (extra or [])
        return Answer.json(code, {"error": {"code": code, "message": message, "status": status, "details": details}}, headers)

    def handle(self, req: RecordedRequest) -> Answer:
        if req.method == "POST" and req.path == "/token":
            form = req.form()
            if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" or not form.get("assertion"):
                return Answer.json(400, {"error": "invalid_grant", "error_description": "Invalid JWT assertion."})
            token = "ya29." + secrets.token_urlsafe(24)
            with self._lock:
                self.valid_tokens.add(token)
            return Answer.json(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})
        if req.method == "POST" and req.path == f"/v1/projects/{self.project_id}/messages:send":
            return self._send(req)
        return self._error(404, "NOT_FOUND", f"Requested entity was not found: {req.path}")

    def _send(self, req: RecordedRequest) -> Answer:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.valid_tokens:
            return self._error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token.")
        failure = self._pop_failure()
        if failure is not None:
            h = self._retry_headers(failure)
            if failure.body is not None:
                return Answer.json(failure.status, failure.body, h)
            if failure.status == 429:
                return self._error(429, "RESOURCE_EXHAUSTED", "Quota exceeded for sending messages.", "QUOTA_EXCEEDED", headers=h)
            if failure.status == 503:
                return self._error(503, "UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE", headers=h)
            return self._error(failure.status, "INTERNAL", "Internal error encountered.", "INTERNAL", headers=h)
        try:
            message = req.json()["message"]
        except (ValueError, KeyError, TypeError):
            return self._error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.", "INVALID_ARGUMENT")
        token = message.get("token")
        if not token or token in self.invalid_tokens:
            return self._error(
                400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token", "INVALID_ARGUMENT",
                [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": "message.token", "description": "The registration token is not a valid FCM registration token"}]}],
            )
        data = message.get("data") or {}
        if any(not isinstance(v, str) for v in data.values()):
            return self._error(400, "INVALID_ARGUMENT", "Invalid value at 'message.data': values must be strings", "INVALID_ARGUMENT",
                               [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": "message.data", "description": "Invalid value"}]}])
        if token in self.unregistered_tokens:
            return self._error(404, "NOT_FOUND", "Requested entity was not found.", "UNREGISTERED")
        name = f"projects/{self.project_id}/messages/{int(time.time() * 1000)}{secrets.randbelow(10**6):06d}"
        with self._lock:
            self.sent.append({"name": name, **message})
        self.record({"name": name, **message})
        return Answer.json(200, {"name": name})


def write_service_account(path: str | Path, *, token_uri: str, project_id: str = PROJECT_ID) -> Path:
    """A Google service-account JSON whose ``token_uri`` is the simulator (for ``make run``).

    Its RSA key is made once and kept (the file lives under the git-ignored ``var/``); it
    signs the JWT the FCM adapter exchanges for an access token, exactly as with Google.
    """
    path = Path(path)
    info: dict[str, Any] = {}
    if path.exists():
        info = json.loads(path.read_text(encoding="utf-8"))
    if not info.get("private_key"):
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        info["private_key"] = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()).decode()
        info["private_key_id"] = secrets.token_hex(20)
    info.update({
        "type": "service_account", "project_id": project_id,
        "client_email": f"coko-dev@{project_id}.iam.gserviceaccount.com", "client_id": "0",
        "token_uri": token_uri,
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info, indent=2), encoding="utf-8")
    path.chmod(0o600)
    return path
