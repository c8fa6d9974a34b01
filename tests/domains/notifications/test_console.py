"""Staff read deliveries in the admin console: to whom (masked), on which channel, and why one failed."""

from __future__ import annotations

import uuid

import pytest
from django.apps import apps

from coko.devtools.testing.console import columns
from coko.domains.accounts.testing import console_login

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
Notification = apps.get_model("notifications", "Notification")
Delivery = apps.get_model("notifications", "Delivery")


@pytest.fixture
def console(client):
    console_login(client)
    return client


def a_notification(**fields):
    return Notification.objects.create(user_id=uuid.uuid4(), template="welcome", category="account",
                                       language="fr", idempotency_key=uuid.uuid4().hex, **fields)


def test_the_delivery_list_shows_the_recipient_masked_and_the_error(console):
    email = Delivery.objects.create(notification=a_notification(), channel="email", destination="awa@example.sn",
                                    status="failed", error="550 mailbox unavailable")
    Delivery.objects.create(notification=a_notification(), channel="sms", destination="+221771234567",
                            status="sent")
    listing = console.get("/admin/notifications/delivery/")
    assert {"user_column", "channel", "recipient_column", "status", "error_column"} <= set(columns(listing))
    page = listing.content.decode()
    assert "a•••@example.sn" in page and "awa@example.sn" not in page
    assert "+22177•••••67" in page and "+221771234567" not in page
    assert "550 mailbox unavailable" in page
    assert str(email.notification.user_id) in page


def test_models_are_named_in_plain_english_in_the_console(console):
    index = console.get("/admin/").content.decode()
    assert ">Deliveries<" in index and ">User settings<" in index
    assert "Deliverys" not in index and "settingss" not in index
