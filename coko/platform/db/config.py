"""DATABASES for a modular monolith: one alias, one schema per domain.

Every domain gets its own database alias whose connections start with
``search_path=<domain>`` (set in the connection's startup packet, so it costs no
round trip). By default all aliases point at one database (``DATABASE_URL``);
``DATABASE_URL_<DOMAIN>`` moves one domain to another server, and
``COKO_SPLIT_DATABASES=1`` gives every domain a database of its own (the
extraction rehearsal the test suite runs).
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlparse

ENGINE = "coko.platform.db.backend"


def parse_database_url(url: str) -> dict:
    """Parse ``postgresql://user:pass@host:port/name?host=/socket/dir&sslmode=...``."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ValueError(f"unsupported scheme {parsed.scheme!r} (expected postgresql://)")
    name = unquote(parsed.path.lstrip("/"))
    if not name:
        raise ValueError("no database name in the URL")
    query = {key: values[-1] for key, values in parse_qs(parsed.query).items()}
    host = query.pop("host", None) or unquote(parsed.hostname or "")
    options = {key: value for key, value in query.items()}
    return {
        "NAME": name,
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": host,
        "PORT": str(parsed.port or ""),
        "OPTIONS": options,
    }


def domain_database(*, domain: str, url: str, split: bool, conn_max_age: int,
                    override: bool = False) -> dict:
    """The settings dict of one domain's alias."""
    config = parse_database_url(url)
    if split and not override:
        config["NAME"] = f"{config['NAME']}_{domain}"
    options = dict(config["OPTIONS"])
    extra = options.pop("options", "")
    options["options"] = f"-c search_path={domain} {extra}".strip()
    options.setdefault("application_name", f"coko:{domain}")
    options.setdefault("connect_timeout", "5")
    return {
        **config,
        "ENGINE": ENGINE,
        "OPTIONS": options,
        "SCHEMA": domain,
        "DOMAIN": domain,
        "CONN_MAX_AGE": conn_max_age,
        "CONN_HEALTH_CHECKS": True,
        "ATOMIC_REQUESTS": False,
        "TEST": {"NAME": None},
    }


def build_databases(*, domains: list[str], default_url: str, overrides: dict[str, str],
                    split: bool, conn_max_age: int, default_domain: str) -> dict:
    """All aliases. ``default`` is a second door to ``default_domain``'s schema.

    Django insists on a ``default`` alias; the router never sends a model there
    and nothing is migrated through it, so it only serves code that asks for
    ``django.db.connection`` directly (it then lands in the accounts schema,
    where Django's own tables live).
    """
    databases = {}
    for domain in domains:
        url = overrides.get(domain) or default_url
        databases[domain] = domain_database(
            domain=domain, url=url, split=split, conn_max_age=conn_max_age,
            override=domain in overrides,
        )
    databases["default"] = {**databases[default_domain], "DOMAIN": None}
    return databases
