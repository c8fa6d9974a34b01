"""Email through SendGrid (django-anymail) against a loopback server that speaks its v3 API."""

from __future__ import annotations

import pytest

from coko.devtools.simulators import SendGridSimulator
from coko.domains.notifications.channels import Outgoing, PermanentFailure, TemporaryFailure
from coko.domains.notifications.channels.email import EmailAdapter


@pytest.fixture
def sendgrid(settings):
    with SendGridSimulator(api_key="SG.test-key") as sim:
        settings.EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
        settings.ANYMAIL = {"SENDGRID_API_KEY": "SG.test-key", "SENDGRID_API_URL": sim.api_url}
        yield sim


MESSAGE = Outgoing(to="awa@example.sn", subject="Bienvenue", text="Bonjour Awa", html="<p>Bonjour Awa</p>")


def test_an_email_goes_out_through_sendgrid_with_both_parts(sendgrid):
    sent = EmailAdapter().send(MESSAGE)
    assert sent.provider == "sendgrid" and sent.provider_id
    [request] = sendgrid.requests
    assert request.path == "/v3/mail/send" and request.headers["authorization"] == "Bearer SG.test-key"
    body = request.json()
    assert body["personalizations"][0]["to"] == [{"email": "awa@example.sn"}]
    assert body["subject"] == "Bienvenue"
    assert {c["type"] for c in body["content"]} == {"text/plain", "text/html"}


def test_sendgrid_rate_limiting_is_a_temporary_failure(sendgrid):
    sendgrid.fail_next(1, status=429, body={"errors": [{"message": "too many requests"}]})
    with pytest.raises(TemporaryFailure):
        EmailAdapter().send(MESSAGE)


def test_sendgrid_refusing_the_message_is_a_permanent_failure(sendgrid):
    sendgrid.fail_next(1, status=400, body={"errors": [{"message": "bad from address", "field": "from"}]})
    with pytest.raises(PermanentFailure):
        EmailAdapter().send(MESSAGE)
