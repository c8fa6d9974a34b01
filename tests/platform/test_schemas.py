"""Domain boundaries, as PostgreSQL sees them."""

import pytest
from django.apps import apps
from django.conf import settings
from django.db import connections

from coko.platform.db.router import domain_of_app

pytestmark = pytest.mark.django_db(databases="__all__")


def _tables_by_schema(alias: str) -> set[tuple[str, str]]:
    with connections[alias].cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
            " AND n.nspname NOT LIKE 'pg_toast%%'"
        )
        return set(cursor.fetchall())


def test_every_model_table_lives_in_its_domains_schema():
    for model in apps.get_models(include_auto_created=True):
        domain = domain_of_app(model._meta.app_label)
        tables = _tables_by_schema(domain)
        assert (domain, model._meta.db_table) in tables, (
            f"{model._meta.label}: table {model._meta.db_table} is not in schema {domain}"
        )
        strays = {schema for schema, table in tables if table == model._meta.db_table} - {domain}
        assert not strays, f"{model._meta.label} also has a table in {strays}"


def test_every_table_in_a_domain_schema_belongs_to_that_domain():
    owned = {}
    for model in apps.get_models(include_auto_created=True):
        owned.setdefault(domain_of_app(model._meta.app_label), set()).add(model._meta.db_table)
    for domain in settings.COKO_DOMAINS:
        for schema, table in _tables_by_schema(domain):
            if schema != domain or table == "django_migrations":
                continue
            assert table in owned.get(domain, set()), f"{schema}.{table} belongs to no {domain} model"


def test_no_table_lands_in_public():
    for domain in settings.COKO_DOMAINS:
        public = {t for s, t in _tables_by_schema(domain) if s == "public"}
        assert not public, f"tables in public schema: {public}"


def test_no_foreign_key_crosses_two_schemas():
    for domain in settings.COKO_DOMAINS:
        with connections[domain].cursor() as cursor:
            cursor.execute(
                "SELECT con.conname, sn.nspname, tn.nspname FROM pg_constraint con"
                " JOIN pg_class s ON s.oid = con.conrelid JOIN pg_namespace sn ON sn.oid = s.relnamespace"
                " JOIN pg_class t ON t.oid = con.confrelid JOIN pg_namespace tn ON tn.oid = t.relnamespace"
                " WHERE con.contype = 'f' AND sn.nspname <> tn.nspname"
            )
            crossing = cursor.fetchall()
        assert not crossing, f"foreign keys across schemas: {crossing}"


def test_each_alias_searches_only_its_own_schema():
    for domain in settings.COKO_DOMAINS:
        with connections[domain].cursor() as cursor:
            cursor.execute("SHOW search_path")
            assert cursor.fetchone()[0] == domain


def test_split_mode_gives_every_domain_its_own_database():
    names = {connections[d].settings_dict["NAME"] for d in settings.COKO_DOMAINS}
    if settings.COKO_SPLIT_DATABASES:
        assert len(names) == len(settings.COKO_DOMAINS)
        for domain in settings.COKO_DOMAINS:
            with connections[domain].cursor() as cursor:
                cursor.execute("SELECT current_database()")
                assert cursor.fetchone()[0].endswith(f"_{domain}")
    else:
        assert len(names) == 1
