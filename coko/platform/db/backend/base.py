"""PostgreSQL backend that knows its alias's schema.

``prepare_database`` (called by ``migrate`` before anything else) creates the
alias's schema, so a domain's ``django_migrations`` table and its tables land in
its own schema from the first migration on. Built on django-prometheus's
wrapper, so every alias reports query counts and errors at /metrics.
"""

from django_prometheus.db.backends.postgresql.base import DatabaseWrapper as _Base


class DatabaseWrapper(_Base):
    def prepare_database(self):
        super().prepare_database()
        schema = self.settings_dict.get("SCHEMA")
        if schema:
            with self.cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {self.ops.quote_name(schema)}")
