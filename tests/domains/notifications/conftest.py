"""Notifications tests: real PostgreSQL, Redis and a real SMTP server on loopback (aiosmtpd,
``notifications.testing.loopback_smtp``)."""

from __future__ import annotations

import pytest
from django.apps import apps

from coko.devtools.testing.api import Api
from coko.domains.accounts.testing import user_with_roles
from coko.domains.notifications.testing import deliver_queued, loopback_smtp


@pytest.fixture
def smtp():
    with loopback_smtp() as mailbox:
        yield mailbox


@pytest.fixture
def api():
    return Api()


def register(api: Api, **fields) -> str:
    response = api.register(**fields)
    assert response.status_code == 201, response.data
    return response.data["user"]["id"]


def make_admin() -> Api:
    return user_with_roles("admin", email="staff@coko.africa", preferred_language="en")


def deliver_all(now=None) -> list:
    """Run the delivery actor in-process for every queued delivery (what a worker does)."""
    return deliver_queued(now=now)


def model(name: str):
    return apps.get_model("notifications", name)
