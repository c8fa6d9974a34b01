"""The admin console as staff find it: branded Coko, each domain's section with its own tables,
and the outbox, inbox and dead letters of every domain together under "Events"."""

from __future__ import annotations

import re
import uuid

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib import admin

from coko.domains.accounts.testing import console_login
from coko.platform.admin_site import CokoAdminSite
from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
EVENT_TABLES = (OutboxEventBase, InboxEntryBase, DeadLetterBase)


@pytest.fixture
def console(client):
    console_login(client)
    return client


def sections(page: str) -> dict[str, list[str]]:
    """``{section caption: [table names]}`` of the index page's app list."""
    found = {}
    for table in re.findall(r'<table>\s*<caption>(.*?)</table>', page, re.S):
        caption = re.sub(r"<[^>]+>", "", table.split("</caption>")[0]).strip()
        found[caption] = [re.sub(r"<[^>]+>", "", name).strip()
                          for name in re.findall(r'<th scope="row"[^>]*>(.*?)</th>', table, re.S)]
    return found


def test_the_console_is_branded_coko(console):
    page = console.get("/admin/").content.decode()
    assert isinstance(admin.site, CokoAdminSite)  # every domain's admin.py registers on it
    assert "<title>Administration | Coko console</title>" in page
    assert ">Coko console</a>" in page
    assert "Django administration" not in page and "Django site admin" not in page


def test_every_domain_s_event_tables_are_in_one_events_section(console):
    found = sections(console.get("/admin/").content.decode())
    events = found.pop("Events")
    assert len(events) == 3 * len(settings.COKO_DOMAINS)  # 33 tables, one section
    assert "Catalog · Outbox events" in events and "Notifications · Dead letters" in events
    assert "Accounts · Inbox entries" in events
    for caption, tables in found.items():
        assert not {"Outbox events", "Inbox entries", "Dead letters"} & set(tables), caption
    assert "Users" in found["Accounts"] and "Books" in found["Catalog"]


def test_the_events_page_lists_them_and_each_links_to_its_domain_s_table(console):
    page = console.get("/admin/events/")
    assert page.status_code == 200
    text = page.content.decode()
    assert len(sections(text)["Events"]) == 33
    assert 'href="/admin/catalog/deadletter/"' in text
    assert console.get("/admin/catalog/deadletter/").status_code == 200
    # A domain's own page still lists its event tables beside its other tables.
    assert "Dead letters" in sections(console.get("/admin/catalog/").content.decode())["Catalog"]


def test_the_events_page_is_for_staff_only(client):
    response = client.get("/admin/events/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_every_table_s_name_reads_correctly_in_the_plural():
    """Django adds an "s": "Deliverys", "User settingss". Each such model says its plural."""
    wrong = re.compile(r"([^aeiou]ys|ss|xs|chs|shs)$")
    names = {f"{model._meta.app_label}.{model.__name__}": str(model._meta.verbose_name_plural)
             for model in admin.site._registry if model._meta.app_label in settings.COKO_DOMAINS}
    assert {name: plural for name, plural in names.items() if wrong.search(plural)} == {}
    assert names["notifications.Delivery"] == "deliveries"
    assert names["notifications.UserSettings"] == "user settings"
    assert apps.get_model("catalog", "Category")._meta.verbose_name_plural == "categories"


def test_the_console_speaks_french_to_french_staff(console):
    index = console.get("/admin/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Console Coko" in index and "Événements" in sections(index)
    notification = apps.get_model("notifications", "Notification").objects.create(
        user_id=uuid.uuid4(), template="welcome", category="account", language="fr", idempotency_key="fr")
    apps.get_model("notifications", "Delivery").objects.create(notification=notification, channel="inapp")
    deliveries = console.get("/admin/notifications/delivery/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "destinataire" in deliveries.casefold() and "erreur" in deliveries.casefold()
    books = console.get("/admin/catalog/book/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Titre, auteur ou identifiant." in books
