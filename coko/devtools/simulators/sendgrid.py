"""SendGrid v3 Mail Send simulator (``POST /v3/mail/send``), as django-anymail's SendGrid
backend speaks it: point ``ANYMAIL["SENDGRID_API_URL"]`` at ``sim.api_url``.

Answers 202 with no body (and an ``X-Message-Id``) when accepted, SendGrid's JSON
``{"errors": [...]}`` otherwise. Each accepted email is recorded as
``{"message_id", "from", "to", "subject", "text", "html", "custom_args"}``.
"""

from __future__ import annotations

import secrets
from typing import Any

from .base import Answer, RecordedRequest, Simulator

DEFAULT_PORT = 9108


class SendGridSimulator(Simulator):
    name = "sendgrid"
    default_port = DEFAULT_PORT

    def __init__(self, api_key: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.api_key = api_key  # None: any "Bearer ..." is accepted
        self.sent: list[dict[str, Any]] = []

    @property
    def api_url(self) -> str:
        return f"{self.url}/v3/"

    def send_calls(self) -> list[RecordedRequest]:
        return self.calls("/v3/mail/send")

    @staticmethod
    def _errors(status: int, *errors: dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
        return Answer.json(status, {"errors": list(errors)}, headers)

    def handle(self, req: RecordedRequest) -> Answer:
        if req.method != "POST" or req.path != "/v3/mail/send":
            return self._errors(404, {"message": "Not Found", "field": None})
        auth = req.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or (self.api_key is not None and auth != f"Bearer {self.api_key}"):
            return self._errors(401, {"message": "The provided authorization grant is invalid, expired, or revoked", "field": None})
        failure = self._pop_failure()
        if failure is not None:
            if failure.body is not None:
                return Answer.json(failure.status, failure.body, self._retry_headers(failure))
            return self._errors(failure.status, {"message": "too many requests" if failure.status == 429 else "internal error", "field": None},
                                headers=self._retry_headers(failure))
        try:
            body = req.json()
            personalizations = body["personalizations"]
            sender = body["from"]["email"]
        except (ValueError, KeyError, TypeError):
            return self._errors(400, {"message": "Bad Request", "field": None})
        if not body.get("subject") and not any(p.get("subject") for p in personalizations):
            return self._errors(400, {"message": "The subject is required.", "field": "subject"})
        content = {c.get("type"): c.get("value") for c in body.get("content") or []}
        message_id = secrets.token_urlsafe(16)
        email = {
            "message_id": message_id, "from": sender,
            "to": [to["email"] for p in personalizations for to in p.get("to", [])],
            "subject": body.get("subject"), "text": content.get("text/plain"), "html": content.get("text/html"),
            "custom_args": {k: v for p in personalizations for k, v in (p.get("custom_args") or {}).items()}
            | (body.get("custom_args") or {}),
        }
        with self._lock:
            self.sent.append({"message_id": message_id, "body": body})
        self.record(email)
        return Answer(202, b"", {"X-Message-Id": message_id})
