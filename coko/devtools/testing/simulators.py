"""Loopback simulators of the SMS and push providers (Orange SMS, Twilio, FCM HTTP v1, Web Push).

Each simulator is a real HTTP server (stdlib ``http.server``) on ``127.0.0.1`` in a
daemon thread. It records every request, answers with the provider's documented
request/response shapes (including error answers), and can be scripted by a test:

    with OrangeSmsSimulator() as sim:
        sim.fail_next(2, status=503)          # two 503s, then normal answers
        sim.invalid_numbers.add("+221700000000")
        ...
        sim.requests                          # what the adapter sent

Used by the tests and, later, by ``make run`` (pass a fixed ``port``).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = [
    "FcmSimulator",
    "OrangeSmsSimulator",
    "RecordedRequest",
    "TwilioSimulator",
    "WebPushSimulator",
]


@dataclass
class RecordedRequest:
    method: str
    path: str  # decoded path, without the query string
    raw_path: str  # as received (percent-encoded)
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Answer:
        return cls(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})


@dataclass
class _Failure:
    status: int
    retry_after: float | None
    body: Any


class _Simulator:
    """Base: server lifecycle, request log, scripted failures."""

    name = "simulator"

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._failures: list[_Failure] = []
        self.requests: list[RecordedRequest] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------
    def start(self) -> _Simulator:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                req = RecordedRequest(
                    method=self.command,
                    path=unquote(split.path),
                    raw_path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                try:
                    answer = sim._dispatch(req)
                except Exception as exc:  # a bug in the simulator: answer 500, keep serving
                    answer = Answer.json(500, {"error": f"simulator error: {exc!r}"})
                self.send_response(answer.status)
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                if os.environ.get("COKO_SIMULATOR_LOG"):
                    super().log_message(format, *args)

        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"{self.name}-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "simulator not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # scripting -----------------------------------------------------------------
    def fail_next(self, n: int = 1, status: int = 503, *, retry_after: float | None = None, body: Any = None) -> None:
        """The next ``n`` provider calls (token calls excluded) answer ``status``."""
        with self._lock:
            self._failures.extend(_Failure(status, retry_after, body) for _ in range(n))

    def reset(self) -> None:
        with self._lock:
            self._failures.clear()
            self.requests.clear()

    def _pop_failure(self) -> _Failure | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _dispatch(self, req: RecordedRequest) -> Answer:
        with self._lock:
            self.requests.append(req)
        return self.handle(req)

    def handle(self, req: RecordedRequest) -> Answer:  # pragma: no cover - abstract
        raise NotImplementedError

    def calls(self, path_contains: str) -> list[RecordedRequest]:
        return [r for r in self.requests if path_contains in r.path]

    @staticmethod
    def _retry_headers(f: _Failure) -> dict[str, str]:
        return {"Retry-After": f"{f.retry_after:g}"} if f.retry_after is not None else {}


# --------------------------------------------------------------------------------
# Orange SMS API (https://developer.orange.com/apis/sms)
# --------------------------------------------------------------------------------


class OrangeSmsSimulator(_Simulator):
    """``POST /oauth/v3/token`` (Basic auth, client credentials) and
    ``POST /smsmessaging/v1/outbound/tel:+{sender}/requests``."""

    name = "orange-sms"

    def __init__(self, client_id: str = "orange-client", client_secret: str = "orange-secret", **kw: Any) -> None:
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
        with self._lock:
            self.sent.append({"id": resource_id, "to": address[4:], "from": sender[4:], "sender_name": body.get("senderName"), "message": message})
        resource_url = f"{self.url}/smsmessaging/v1/outbound/{req.raw_path.split('/')[4]}/requests/{resource_id}"
        return Answer.json(201, {"outboundSMSMessageRequest": {**body, "resourceURL": resource_url}}, {"Location": resource_url})


# --------------------------------------------------------------------------------
# Twilio Programmable Messaging (POST /2010-04-01/Accounts/{sid}/Messages.json)
# --------------------------------------------------------------------------------


class TwilioSimulator(_Simulator):
    name = "twilio"

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "twilio-token", **kw: Any) -> None:
        super().__init__(**kw)
        self.account_sid, self.auth_token = account_sid, auth_token
        self.invalid_numbers: set[str] = set()
        self.sent: list[dict[str, Any]] = []

    def message_calls(self) -> list[RecordedRequest]:
        return self.calls("/Messages.json")

    @staticmethod
    def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Answer:
        return Answer.json(status, {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status}, headers)

    def handle(self, req: RecordedRequest) -> Answer:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if req.headers.get("authorization") != f"Basic {expected}":
            return self._error(401, 20003, "Authenticate")
        prefix = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        if req.method != "POST" or req.path != prefix:
            return self._error(404, 20404, f"The requested resource {req.path} was not found")
        failure = self._pop_failure()
        if failure is not None:
            if failure.body is not None:
                return Answer.json(failure.status, failure.body, self._retry_headers(failure))
            if failure.status == 429:
                return self._error(429, 20429, "Too Many Requests", self._retry_headers(failure))
            return self._error(failure.status, 20500, "Internal Server Error", self._retry_headers(failure))
        form = req.form()
        to, from_, body = form.get("To", ""), form.get("From"), form.get("Body")
        if not (from_ or form.get("MessagingServiceSid")):
            return self._error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required to send a message")
        if not body:
            return self._error(400, 21602, "Message body is required.")
        if not to.startswith("+") or not to[1:].isdigit() or to in self.invalid_numbers:
            return self._error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        sid = "SM" + uuid.uuid4().hex
        now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
        resource = {
            "sid": sid, "account_sid": self.account_sid, "to": to, "from": from_, "body": body,
            "messaging_service_sid": form.get("MessagingServiceSid"), "status": "queued", "direction": "outbound-api",
            "num_segments": "1", "num_media": "0", "price": None, "price_unit": "USD", "error_code": None,
            "error_message": None, "api_version": "2010-04-01", "date_created": now, "date_updated": now, "date_sent": None,
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}.json", "subresource_uris": {},
        }
        with self._lock:
            self.sent.append(resource)
        return Answer.json(201, resource)


# --------------------------------------------------------------------------------
# Firebase Cloud Messaging HTTP v1 (+ the Google OAuth2 token endpoint)
# --------------------------------------------------------------------------------

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


class FcmSimulator(_Simulator):
    """``POST /token`` (JWT-bearer grant, as Google's oauth2 token endpoint) and
    ``POST /v1/projects/{project}/messages:send``.

    Point a service account's ``token_uri`` at ``sim.token_uri``.
    """

    name = "fcm"

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
        return Answer.json(200, {"name": name})


# --------------------------------------------------------------------------------
# Web Push (RFC 8030 push service, RFC 8291 aes128gcm payloads, RFC 8292 VAPID)
# --------------------------------------------------------------------------------


class WebPushSimulator(_Simulator):
    """A push service: ``POST /push/{id}`` answers 201 for live subscriptions and
    410 Gone for expired ones. It holds the user agent's keys, so it decrypts the
    payload (``sim.received``) — proving the encryption, not only the POST."""

    name = "webpush"

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self._keys: dict[str, tuple[Any, bytes]] = {}
        self.gone: set[str] = set()
        self.received: list[dict[str, Any]] = []

    def new_subscription(self, *, gone: bool = False) -> dict[str, Any]:
        """A PushSubscription JSON (as the browser's ``subscription.toJSON()``)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        sub_id = secrets.token_urlsafe(16)
        key = ec.generate_private_key(ec.SECP256R1())
        auth = secrets.token_bytes(16)
        self._keys[sub_id] = (key, auth)
        if gone:
            self.gone.add(sub_id)
        public = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
        b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()  # noqa: E731
        return {"endpoint": f"{self.url}/push/{sub_id}", "expirationTime": None, "keys": {"p256dh": b64(public), "auth": b64(auth)}}

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
        return Answer(201, b"", {"Location": f"{self.url}/message/{msg_id}"})
