"""What other domains' tests need to see a person being told something: a real SMTP server
on loopback that keeps what it receives, the delivery worker run in-process, and the inbox
as its owner reads it.

    from coko.domains.notifications.testing import deliver_queued, inbox_titles, loopback_smtp

    with loopback_smtp() as mailbox:
        ...                                   # something that notifies awa@example.sn
        deliver_queued()                      # what the notifications worker would do
        [message] = mailbox.to("awa@example.sn")
    assert inbox_titles(awa) == [message["Subject"]]

Events reach the notifications handlers through ``coko.devtools.testing.events.deliver_pending``
(``handler="notifications.welcome_new_user"``, ``"notifications.send_one_time_code"``,
``"notifications.send_signup_code"`` or ``"notifications.warn_signup_address_taken"``).
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import threading
from collections.abc import Iterator
from datetime import datetime

from aiosmtpd.controller import Controller
from django.test import override_settings

from coko.devtools.testing.api import Api


class Mailbox:
    """An aiosmtpd handler that keeps every message it receives (and can refuse some)."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.failures: list[str] = []  # SMTP answers to give to the next DATA commands
        self.port: int | None = None
        self._received = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        with self._received:
            if self.failures:
                return self.failures.pop(0)
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            message["X-Rcpt-To"] = ",".join(envelope.rcpt_tos)
            self.messages.append(message)
            self._received.notify_all()
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        """The messages received for ``address``, in order."""
        return [m for m in self.messages if address in m["X-Rcpt-To"]]

    def wait(self, count: int, timeout: float = 30.0) -> None:
        """Until ``count`` messages have arrived (sent by another process or thread)."""
        with self._received:
            if not self._received.wait_for(lambda: len(self.messages) >= count, timeout=timeout):
                raise AssertionError(f"{len(self.messages)} emails received, {count} expected")


class _LoopbackController(Controller):
    """aiosmtpd's controller on an ephemeral port (port 0): its readiness probe must
    connect to the port the OS actually chose."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@contextlib.contextmanager
def loopback_smtp() -> Iterator[Mailbox]:
    """A real SMTP server on 127.0.0.1 (an ephemeral port), and Django's email settings
    pointing at it while the block runs."""
    mailbox = Mailbox()
    controller = _LoopbackController(mailbox, hostname="127.0.0.1", port=0)
    controller.start()
    mailbox.port = controller.port
    try:
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
                               EMAIL_HOST="127.0.0.1", EMAIL_PORT=controller.port):
            yield mailbox
    finally:
        controller.stop()


def deliver_queued(*, now: datetime | None = None) -> list:
    """Attempt every queued delivery once, oldest first, in this process (what the
    notifications worker does); the attempts' results."""
    from . import services
    from .models import Delivery

    ids = Delivery.objects.filter(status=Delivery.QUEUED).order_by("id").values_list("id", flat=True)
    return [services.delivery_attempt(delivery_id=delivery_id, now=now) for delivery_id in list(ids)]


def inbox_titles(api: Api) -> list[str]:
    """The titles in ``api``'s user's in-app inbox, newest first (``GET /notifications``)."""
    response = api.get("/notifications?limit=100")
    if response.status_code != 200:
        raise AssertionError(f"reading the inbox failed: {response.status_code} {response.data}")
    return [item["title"] for item in response.data["items"]]


__all__ = ["Mailbox", "deliver_queued", "inbox_titles", "loopback_smtp"]
