"""Notifications tests: real PostgreSQL, Redis and a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import email
import email.policy
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from django.apps import apps

from coko.domains.accounts import services as accounts_services
from tests.domains.accounts.conftest import Api, _fresh_rate_limits  # noqa: F401

PASSWORD = "a river in Saint-Louis"


class Mailbox:
    """An aiosmtpd handler that keeps every message it receives (and can refuse some)."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.failures: list[str] = []  # SMTP answers to give to the next DATA commands
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.failures:
                return self.failures.pop(0)
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            message["X-Rcpt-To"] = ",".join(envelope.rcpt_tos)
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if address in m["X-Rcpt-To"]]

    def wait(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.messages)} emails received, {count} expected")
            time.sleep(0.05)


class LoopbackController(Controller):
    """aiosmtpd's controller on an ephemeral port (port 0): its readiness probe must
    connect to the port the OS actually chose."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtp(settings):
    mailbox = Mailbox()
    controller = LoopbackController(mailbox, hostname="127.0.0.1", port=0)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    mailbox.port = settings.EMAIL_PORT
    try:
        yield mailbox
    finally:
        controller.stop()


@pytest.fixture
def api():
    return Api()


def register(api: Api, **fields) -> str:
    response = api.register(**fields)
    assert response.status_code == 201, response.data
    return response.data["user"]["id"]


def make_admin() -> Api:
    admin = Api()
    user_id = register(admin, email="staff@coko.africa", preferred_language="en")
    accounts_services.role_grant(user_id=user_id, role="admin", by_user_id=None, client=accounts_services.Client())
    admin.token = admin.post("/auth/login", {"identifier": "staff@coko.africa", "password": PASSWORD}).data["access_token"]
    return admin


def deliver_all(now=None) -> list:
    """Run the delivery actor in-process for every queued delivery (what a worker does)."""
    from coko.domains.notifications import services

    Delivery = apps.get_model("notifications", "Delivery")
    results = []
    for delivery_id in Delivery.objects.filter(status="queued").order_by("id").values_list("id", flat=True):
        results.append(services.delivery_attempt(delivery_id=delivery_id, now=now))
    return results


def model(name: str):
    return apps.get_model("notifications", name)
