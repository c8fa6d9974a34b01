"""Twilio Programmable Messaging simulator (``POST /2010-04-01/Accounts/{sid}/Messages.json``).

Each accepted SMS is recorded as ``{"sid", "to", "from", "messaging_service_sid", "body"}``.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

from .base import Answer, RecordedRequest, Simulator

DEFAULT_PORT = 9102
ACCOUNT_SID, AUTH_TOKEN = "AC" + "0" * 32, "twilio-token"


class TwilioSimulator(Simulator):
    name = "twilio"
    default_port = DEFAULT_PORT

    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN, **kw: Any) -> None:
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
        self.record({k: resource[k] for k in ("sid", "to", "from", "messaging_service_sid", "body")})
        return Answer.json(201, resource)
