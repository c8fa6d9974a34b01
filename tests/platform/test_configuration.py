"""Settings come from the environment and a bad value stops the process with one clear line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from coko.devtools.testing.manage import manage

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "variable, value, says",
    [
        ("COKO_EVENT_MAX_RETRIES", "lots", "'lots' is not an integer"),
        ("DATABASE_URL", "mysql://db/coko", "unsupported scheme 'mysql'"),
        ("REDIS_URL", "http://cache", "is not a redis://"),
        ("DEBUG", "perhaps", "is not a boolean"),
        ("COKO_ENV", "staging", "is not one of"),
        ("SENTRY_DSN", "not a dsn", "does not match"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "jaeger:4318", "does not match"),  # the scheme forgotten
    ],
)
def test_a_bad_value_stops_the_process_with_one_line_naming_the_variable(variable, value, says):
    result = manage("check", **{variable: value})
    assert result.returncode == 78
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"coko: configuration error: {variable}: ")
    assert says in lines[0]
    assert "Traceback" not in result.stderr


def test_every_bad_variable_is_reported_at_once():
    result = manage("check", COKO_EVENT_MAX_RETRIES="x", COKO_WORKER_THREADS="0")
    assert result.returncode == 78
    assert "COKO_EVENT_MAX_RETRIES" in result.stderr and "COKO_WORKER_THREADS" in result.stderr


def test_production_refuses_to_start_without_its_secrets():
    result = manage("check", COKO_ENV="production", SECRET_KEY="", DATABASE_URL="", REDIS_URL="")
    assert result.returncode == 78
    for variable in ("SECRET_KEY", "DATABASE_URL", "REDIS_URL"):
        assert f"{variable}: is required but not set" in result.stderr


def test_a_short_production_secret_key_is_refused():
    result = manage("check", COKO_ENV="production", SECRET_KEY="too-short",
                    DATABASE_URL="postgresql://u@db/coko", REDIS_URL="redis://cache:6379/0")
    assert result.returncode == 78
    assert "SECRET_KEY: must be at least 50 characters" in result.stderr


def test_sentry_is_initialised_when_a_dsn_is_set():
    code = ("import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
            " django.setup(); import sentry_sdk; print(sentry_sdk.get_client().is_active())")
    with_dsn = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "SENTRY_DSN": "https://key@sentry.example.org/1"})
    without = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                             env={k: v for k, v in os.environ.items() if k != "SENTRY_DSN"})
    assert with_dsn.stdout.strip() == "True", with_dsn.stderr
    assert without.stdout.strip() == "False", without.stderr


def test_each_domain_alias_is_configured_for_its_schema(settings):
    for domain in settings.COKO_DOMAINS:
        config = settings.DATABASES[domain]
        assert config["OPTIONS"]["options"].startswith(f"-c search_path={domain}")
        assert config["CONN_HEALTH_CHECKS"] is True


def test_a_per_domain_url_moves_one_domain_to_another_server():
    from coko.platform.db.config import build_databases

    layout = build_databases(
        domains=["accounts", "catalog", "reading"], default_url="postgresql://app@main-db/coko",
        overrides={"reading": "postgresql://reader@reading-db:6432/reading"}, split=False,
        conn_max_age=60, default_domain="accounts",
    )
    assert (layout["catalog"]["HOST"], layout["catalog"]["NAME"]) == ("main-db", "coko")
    assert (layout["reading"]["HOST"], layout["reading"]["PORT"], layout["reading"]["NAME"]) == (
        "reading-db", "6432", "reading")
    assert layout["reading"]["OPTIONS"]["options"] == "-c search_path=reading"
    split = build_databases(domains=["accounts", "catalog"], default_url="postgresql://app@db/coko",
                            overrides={}, split=True, conn_max_age=60, default_domain="accounts")
    assert split["catalog"]["NAME"] == "coko_catalog"
    assert split["default"]["NAME"] == "coko_accounts"
