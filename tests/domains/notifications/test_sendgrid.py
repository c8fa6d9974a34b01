"""Email through SendGrid (django-anymail) against a loopback server that speaks its v3 API."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from coko.domains.notifications.channels import Outgoing, PermanentFailure, TemporaryFailure
from coko.domains.notifications.channels.email import EmailAdapter


class FakeSendGrid:
    """POST /v3/mail/send: 202 and no body when accepted, JSON errors otherwise."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict | None]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "auth": self.headers["Authorization"], "body": body})
                status, payload = fake.answers.pop(0) if fake.answers else (202, None)
                data = json.dumps(payload).encode() if payload else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/v3/"

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def sendgrid(settings):
    fake = FakeSendGrid()
    settings.EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
    settings.ANYMAIL = {"SENDGRID_API_KEY": "SG.test-key", "SENDGRID_API_URL": fake.url}
    yield fake
    fake.close()


MESSAGE = Outgoing(to="awa@example.sn", subject="Bienvenue", text="Bonjour Awa", html="<p>Bonjour Awa</p>")


def test_an_email_goes_out_through_sendgrid_with_both_parts(sendgrid):
    sent = EmailAdapter().send(MESSAGE)
    assert sent.provider == "sendgrid" and sent.provider_id
    [request] = sendgrid.requests
    assert request["path"] == "/v3/mail/send" and request["auth"] == "Bearer SG.test-key"
    body = request["body"]
    assert body["personalizations"][0]["to"] == [{"email": "awa@example.sn"}]
    assert body["subject"] == "Bienvenue"
    assert {c["type"] for c in body["content"]} == {"text/plain", "text/html"}


def test_sendgrid_rate_limiting_is_a_temporary_failure(sendgrid):
    sendgrid.answers.append((429, {"errors": [{"message": "too many requests"}]}))
    with pytest.raises(TemporaryFailure):
        EmailAdapter().send(MESSAGE)


def test_sendgrid_refusing_the_message_is_a_permanent_failure(sendgrid):
    sendgrid.answers.append((400, {"errors": [{"message": "bad from address", "field": "from"}]}))
    with pytest.raises(PermanentFailure):
        EmailAdapter().send(MESSAGE)
