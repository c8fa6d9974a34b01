"""Orange SMS API simulator (https://developer.orange.com/apis/sms).

``POST /oauth/v3/token`` (Basic auth, client credentials) and
``POST /smsmessaging/v1/outbound/tel:+{sender}/requests``. Each accepted SMS is recorded
as ``{"id", "to", "from", "sender_name", "message"}``.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any

from .base import Answer, RecordedRequest, Simulator

DEFAULT_PORT = 9101
CLIENT_ID, CLIENT_SECRET = "orange-client", "orange-secret"


class OrangeSmsSimulator(Simulator):
    name = "orange-sms"
    default_port = DEFAULT_PORT

    def __init__(self, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET, **kw: Any) -> None:
        super().__init__(**kw)
        self.client_id, self.client_secret = client_id, client_secret
        self.token_ttl = 3600
        self.valid_tokens: set[str] = set()
        self.invalid_numbers: set[str] = set()  # E.164, e.g. "+221770000000"
        self.sent: list[dict[str, Any]] = []

    def expire_tokens(self) -> None:
        """Every issued token is now refused with 401 (as after expiry or revocation)."""
        with self._lock:
            self.valid_tokens.clear()

    def token_calls(self) -> list[RecordedRequest]:
        return self.calls("/oauth/v3/token")

    def sms_calls(self) -> list[RecordedRequest]:
        return self.calls("/smsmessaging/")

    def handle(self, req: RecordedRequest) -> Answer:
        if req.method == "POST" and req.path == "/oauth/v3/token":
            return self._token(req)
        if req.method == "POST" and req.path.startswith("/smsmessaging/v1/outbound/") and req.path.endswith("/requests"):
            return self._outbound(req)
        return Answer.json(404, {"code": 60, "message": "Resource not found", "description": req.path})

    def _token(self, req: RecordedRequest) -> Answer:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if req.headers.get("authorization") != f"Basic {expected}":
            return Answer.json(401, {"error": "invalid_client", "error_description": "The requested service needs credentials, but the ones provided were invalid."})
        if req.form().get("grant_type") != "client_credentials":
            return Answer.json(400, {"error": "unsupported_grant_type", "error_description": "grant_type must be client_credentials"})
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.valid_tokens.add(token)
        return Answer.json(200, {"token_type": "Bearer", "access_token": token, "expires_in": self.token_ttl})

    @staticmethod
    def _svc(status: int, kind: str, message_id: str, text: str, variables: str) -> Answer:
        return Answer.json(status, {"requestError": {kind: {"messageId": message_id, "text": text, "variables": variables}}})

    def _outbound(self, req: RecordedRequest) -> Answer:
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.valid_tokens:
            return Answer.json(401, {"code": 42, "message": "Expired credentials", "description": "The requested service needs credentials, and the ones provided were out-of-date."})
        failure = self._pop_failure()
        if failure is not None:
            if failure.body is not None:
                return Answer.json(failure.status, failure.body, self._retry_headers(failure))
            if failure.status == 429:
                return Answer.json(429, {"code": 53, "message": "Too many requests", "description": "The application has made too many calls and has exceeded the rate limit for this service."}, self._retry_headers(failure))
            return Answer.json(failure.status, {"code": 5001, "message": "Service unavailable", "description": "The service is temporarily unavailable."}, self._retry_headers(failure))
        sender_in_path = req.path[len("/smsmessaging/v1/outbound/"):-len("/requests")]
        try:
            body = req.json()["outboundSMSMessageRequest"]
            address, sender = body["address"], body["senderAddress"]
            message = body["outboundSMSTextMessage"]["message"]
        except (ValueError, KeyError, TypeError):
            return self._svc(400, "serviceException", "SVC0001", "A service error occurred. Error code is %1", "Missing or malformed outboundSMSMessageRequest")
        if sender != sender_in_path:
            return self._svc(400, "serviceException", "SVC0002", "Invalid input value for message part %1", "senderAddress")
        if not address.startswith("tel:+") or address[4:] in self.invalid_numbers:
            return self._svc(400, "serviceException", "SVC0004", "No valid addresses provided in message part %1", address)
        if not message:
            return self._svc(400, "serviceException", "SVC0002", "Invalid input value for message part %1", "message")
        resource_id = uuid.uuid4().hex
        sms = {"id": resource_id, "to": address[4:], "from": sender[4:], "sender_name": body.get("senderName"), "message": message}
        with self._lock:
            self.sent.append(sms)
        self.record(sms)
        resource_url = f"{self.url}/smsmessaging/v1/outbound/{req.raw_path.split('/')[4]}/requests/{resource_id}"
        return Answer.json(201, {"outboundSMSMessageRequest": {**body, "resourceURL": resource_url}}, {"Location": resource_url})
