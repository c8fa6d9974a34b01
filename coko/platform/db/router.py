"""Keeps every app's models and migrations on its domain's alias."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def domain_of_app(app_label: str) -> str:
    """The domain (and alias) that owns ``app_label``'s tables."""
    try:
        return settings.COKO_APP_DOMAINS[app_label]
    except KeyError:
        if app_label in settings.COKO_DOMAINS:
            return app_label
        raise ImproperlyConfigured(
            f"app {app_label!r} belongs to no domain: add it to COKO_APP_DOMAINS"
        ) from None


def alias_of_model(model) -> str:
    return domain_of_app(model._meta.app_label)


class DomainRouter:
    """Reads and writes go to the owner's alias; relations never cross aliases."""

    def db_for_read(self, model, **hints):
        return alias_of_model(model)

    def db_for_write(self, model, **hints):
        return alias_of_model(model)

    def allow_relation(self, obj1, obj2, **hints):
        return alias_of_model(type(obj1)) == alias_of_model(type(obj2))

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        if db not in settings.COKO_DOMAINS:
            return False  # "default" and any stray alias: never a migration target
        return domain_of_app(app_label) == db
