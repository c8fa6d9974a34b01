"""The admin console's site: branded Coko, and the event tables of every domain in one section.

Each domain still registers its own outbox, inbox and dead letters
(``coko.platform.events.admin.register_event_admin``, in the domain's ``admin.py``); this site
only shows them together: the index and the side bar list them under "Events" (the page
``/admin/events/``) rather than three links in each of the eleven domains' sections. A domain's
own page (``/admin/catalog/``) still lists its event tables with its other tables.

Installed in place of ``django.contrib.admin`` (``INSTALLED_APPS``), so ``admin.site`` is this site.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

EVENTS = "events"


def _event_tables() -> tuple[type, ...]:
    from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase

    return OutboxEventBase, InboxEntryBase, DeadLetterBase


class CokoAdminSite(admin.AdminSite):
    site_header = _("Coko console")
    site_title = _("Coko console")
    index_title = _("Administration")

    def get_app_list(self, request, app_label=None):
        """The domains' sections without their event tables, then one "Events" section."""
        app_list = super().get_app_list(request, app_label)
        if app_label is not None:
            return app_list
        events = self._events_section(app_list)
        sections = [app for app in app_list if app["models"]]
        return [*sections, events] if events["models"] else sections

    def _events_section(self, app_list: list[dict]) -> dict:
        """Takes the event tables out of ``app_list``'s sections; returns them as one section,
        each named after its domain ("Catalog · Dead letters"), domain by domain."""
        kinds = _event_tables()
        models = []
        for app in app_list:
            tables = [m for m in app["models"] if issubclass(m["model"], kinds)]
            app["models"] = [m for m in app["models"] if m not in tables]
            tables.sort(key=lambda m: next(i for i, kind in enumerate(kinds) if issubclass(m["model"], kind)))
            models += [{**m, "name": f"{app['name']} · {m['name']}"} for m in tables]
        return {"name": capfirst(_("Events")), "app_label": EVENTS, "has_module_perms": bool(models),
                "app_url": reverse("admin:events", current_app=self.name), "models": models}

    def get_urls(self):
        return [path("events/", self.admin_view(self.events_index), name="events"), *super().get_urls()]

    def events_index(self, request):
        """Every domain's outbox, inbox and dead letters, on one page."""
        events = self._events_section(super().get_app_list(request))
        context = {**self.each_context(request), "title": events["name"], "subtitle": None,
                   "app_list": [events] if events["models"] else [], "app_label": EVENTS}
        request.current_app = self.name
        return TemplateResponse(request, "admin/app_index.html", context)


class CokoAdminConfig(AdminConfig):
    """``django.contrib.admin`` with ``CokoAdminSite`` as ``admin.site``."""

    default_site = "coko.platform.admin_site.CokoAdminSite"
