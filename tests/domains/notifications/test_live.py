"""The whole path, with real processes: accounts publishes ``signup.code_requested`` and
``user.registered`` in its outbox → the relay → a dramatiq worker runs the notifications
handlers → the delivery actor → a real SMTP server receives the sign-up code, then the
welcome email."""

from __future__ import annotations

import pytest

from tests.platform.events.conftest import Processes

from .conftest import register

pytestmark = [pytest.mark.django_db(transaction=True, databases="__all__"), pytest.mark.live]


def test_a_registration_ends_as_a_welcome_email_through_relay_and_worker(api, smtp, django_db_setup,
                                                                         monkeypatch):
    monkeypatch.setenv("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
    monkeypatch.setenv("EMAIL_HOST", "127.0.0.1")
    monkeypatch.setenv("EMAIL_PORT", str(smtp.port))
    monkeypatch.setenv("COKO_NOTIFY_MIN_BACKOFF_MS", "50")
    processes = Processes(django_db_setup)
    try:
        processes.worker(threads=2)
        processes.relay()
        register(api, email="awa@example.sn", display_name="Awa", preferred_language="en")
        try:
            smtp.wait(2, timeout=60)
        except AssertionError:
            raise AssertionError(processes.logs()) from None
    finally:
        processes.stop_all()
    subjects = sorted(message["Subject"] for message in smtp.to("awa@example.sn"))
    assert subjects[0] == "Welcome to Coko, Awa!" and subjects[1].startswith("Your Coko sign-up code: ")
    welcome = next(m for m in smtp.to("awa@example.sn") if m["Subject"] == subjects[0])
    assert welcome.get_body(("html",)) is not None
