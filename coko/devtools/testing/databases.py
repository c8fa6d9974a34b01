"""Test databases for a schema-per-domain project.

Django's own test setup treats aliases that share a database as mirrors and
replaces their settings wholesale, which would drop each alias's
``search_path``. Here every alias keeps its options; only the database name
changes. The migrated state is built once per migration set as a template
database (``coko_tpl_<hash>``) and cloned per test session, so a run pays for
migrations only when they change.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connections

from coko.platform.db.config import build_databases

TEMPLATE_PREFIX = "coko_tpl_"


@dataclass
class TestDatabases:
    url: str  # DATABASE_URL of the test databases, for child processes
    suffix: str
    original: dict[str, str]

    def child_env(self) -> dict[str, str]:
        env = {"DATABASE_URL": self.url, "COKO_SPLIT_DATABASES": "1" if settings.COKO_SPLIT_DATABASES else "0"}
        for domain, url in settings.DATABASE_OVERRIDES.items():
            env[f"DATABASE_URL_{domain.upper()}"] = _renamed(url, _test_name(url, self.suffix))
        return env


def _renamed(url: str, name: str) -> str:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path=f"/{name}"))


def _name(url: str) -> str:
    return urlparse(url).path.lstrip("/")


def _test_name(url: str, suffix: str) -> str:
    return f"test_{_name(url)}{suffix}"


def _template_prefix() -> str:
    return f"{TEMPLATE_PREFIX}{'s' if settings.COKO_SPLIT_DATABASES else 'm'}_"


def _migrations_hash() -> str:
    digest = hashlib.sha256()
    root = Path(settings.BASE_DIR)
    # Settings and post-migrate handlers shape the migrated state too.
    files = sorted((root / "migrations").rglob("*.py")) + [root / "config" / "settings.py"]
    for path in files:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    digest.update(b"split" if settings.COKO_SPLIT_DATABASES else b"single")
    return digest.hexdigest()[:12]


def _maintenance(settings_dict: dict) -> psycopg.Connection:
    params = {
        "dbname": "postgres",
        "user": settings_dict["USER"] or None,
        "password": settings_dict["PASSWORD"] or None,
        "host": settings_dict["HOST"] or None,
        "port": settings_dict["PORT"] or None,
    }
    return psycopg.connect(**{k: v for k, v in params.items() if v}, autocommit=True)


def _point_aliases(rename) -> dict[str, dict]:
    """Rename every alias's database with ``rename(original_url)``; keep all else."""
    layout = build_databases(
        domains=settings.COKO_DOMAINS,
        default_url=_renamed(settings.DATABASE_URL, rename(settings.DATABASE_URL)),
        overrides={d: _renamed(u, rename(u)) for d, u in settings.DATABASE_OVERRIDES.items()},
        split=settings.COKO_SPLIT_DATABASES, conn_max_age=0, default_domain="accounts",
    )
    for alias, config in layout.items():
        connections[alias].close()
        connections[alias].settings_dict["NAME"] = config["NAME"]
    return layout


def _databases() -> dict[tuple, dict]:
    """One settings dict per distinct physical database."""
    unique = {}
    for alias in settings.COKO_DOMAINS:
        sd = connections[alias].settings_dict
        unique.setdefault((sd["HOST"], sd["PORT"], sd["NAME"]), sd)
    return unique


def _drop(conn: psycopg.Connection, name: str) -> None:
    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def create_test_databases(*, suffix: str) -> TestDatabases:
    """Point every alias at fresh, migrated test databases (cloned from a template)."""
    base_url = settings.DATABASE_URL
    original = {alias: connections[alias].settings_dict["NAME"] for alias in connections}

    digest = _migrations_hash()
    template_layout = _point_aliases(lambda url: f"{_template_prefix()}{digest}_{_name(url)}")
    templates = _databases()
    with _maintenance(next(iter(templates.values()))) as lock:
        lock.execute("SELECT pg_advisory_lock(hashtext('coko-test-template'))")
        try:
            if not all(_is_ready_template(sd) for sd in templates.values()):
                _build_templates(templates)
        finally:
            lock.execute("SELECT pg_advisory_unlock(hashtext('coko-test-template'))")

    _sweep_abandoned(current=suffix)
    test_url = _renamed(base_url, _test_name(base_url, suffix))
    test_layout = _point_aliases(lambda url: _test_name(url, suffix))
    created = set()
    for alias in settings.COKO_DOMAINS:
        sd = connections[alias].settings_dict
        if sd["NAME"] in created:
            continue
        created.add(sd["NAME"])
        with _maintenance(sd) as conn:
            _drop(conn, sd["NAME"])
            # FILE_COPY (PostgreSQL 15+) clones a small database much faster than WAL_LOG.
            strategy = " STRATEGY FILE_COPY" if conn.info.server_version >= 150000 else ""
            conn.execute(f'CREATE DATABASE "{test_layout[alias]["NAME"]}"'
                         f' TEMPLATE "{template_layout[alias]["NAME"]}"{strategy}')
    return TestDatabases(url=test_url, suffix=suffix, original=original)


def _sweep_abandoned(*, current: str) -> None:
    """Drop this project's test databases left by killed runs.

    Only names of our own pattern (``test_<name>_<run>_<worker>``), never this
    run's, and only when nobody is connected to them.
    """
    run = current.split("_")[1]
    base = _name(settings.DATABASE_URL).replace("_", "\\_")
    for sd in _databases().values():
        with _maintenance(sd) as conn:
            rows = conn.execute(
                "SELECT d.datname FROM pg_database d WHERE d.datname LIKE %s"
                " AND d.datname NOT LIKE %s AND NOT EXISTS"
                " (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)",
                [f"test\\_{base}\\_%", f"test\\_{base}\\_{run}\\_%"],
            ).fetchall()
            for (name,) in rows:
                try:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
                except psycopg.Error:
                    pass  # someone connected meanwhile: not abandoned after all


def _is_ready_template(sd: dict) -> bool:
    with _maintenance(sd) as conn:
        return conn.execute(
            "SELECT 1 FROM pg_database d JOIN pg_shdescription s ON s.objoid = d.oid"
            " WHERE d.datname = %s AND s.description = 'coko template ready'", [sd["NAME"]]
        ).fetchone() is not None


def _build_templates(templates: dict[tuple, dict]) -> None:
    for sd in templates.values():
        with _maintenance(sd) as conn:
            _drop(conn, sd["NAME"])
            conn.execute(f'CREATE DATABASE "{sd["NAME"]}"')
    call_command("migrate", verbosity=0, interactive=False)
    for alias in connections:
        connections[alias].close()
    for sd in templates.values():
        with _maintenance(sd) as conn:
            conn.execute(f"""COMMENT ON DATABASE "{sd['NAME']}" IS 'coko template ready'""")
            # Drop templates of older migration sets.
            stale = conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s AND datname NOT LIKE %s",
                [f"{_template_prefix()}%", f"{_template_prefix()}{_migrations_hash()}_%"],
            ).fetchall()
            for (name,) in stale:
                try:
                    _drop(conn, name)
                except psycopg.Error:
                    pass


def destroy_test_databases(state: TestDatabases) -> None:
    clones = _databases()
    for alias in connections:
        connections[alias].close()
    for (host, port, name), sd in clones.items():
        with _maintenance(sd) as conn:
            _drop(conn, name)
    for alias, name in state.original.items():
        connections[alias].settings_dict["NAME"] = name
