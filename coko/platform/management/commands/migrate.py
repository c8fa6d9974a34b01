"""``migrate`` across every domain: each alias, its own schema, its own history.

``manage.py migrate`` (no ``--database``) migrates every domain alias in turn,
then creates the content types and permissions of every app in the accounts
schema (Django only creates them on the alias that holds those tables, which a
per-alias migrate never reaches for the other domains' models).
``manage.py migrate --database catalog`` migrates one domain.
"""

from django.apps import apps
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.contrib.contenttypes.management import create_contenttypes
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import DEFAULT_DB_ALIAS


class Command(DjangoMigrate):
    help = "Migrate every domain's schema (or one with --database <domain>)."

    def handle(self, *args, **options):
        if options["database"] != DEFAULT_DB_ALIAS:
            return super().handle(*args, **options)
        app_label = options.get("app_label")
        for domain in settings.COKO_DOMAINS:
            if app_label and apps.get_app_config(app_label).label not in self._apps_of(domain):
                continue
            if options["verbosity"] >= 1:
                self.stdout.write(self.style.MIGRATE_HEADING(f"Domain {domain}:"))
            super().handle(*args, **{**options, "database": domain})
        if not options.get("plan") and not options.get("check_unapplied"):
            self._ensure_permissions(verbosity=options["verbosity"])

    @staticmethod
    def _apps_of(domain: str) -> set[str]:
        from coko.platform.db.router import domain_of_app

        return {c.label for c in apps.get_app_configs() if domain_of_app(c.label) == domain}

    @staticmethod
    def _ensure_permissions(*, verbosity: int) -> None:
        home = settings.COKO_APP_DOMAINS["auth"]
        for app_config in apps.get_app_configs():
            create_contenttypes(app_config, verbosity=0, using=home)
            create_permissions(app_config, verbosity=0, using=home)
