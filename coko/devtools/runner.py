"""What ``make run``, ``make test`` and the ``make bench-*`` targets do, after the virtualenv exists.

    python -m coko.devtools.runner run           # web + worker + relay on :8000
    python -m coko.devtools.runner test [ARGS]   # import contracts + the whole suite
    python -m coko.devtools.runner bench-events  # end-to-end event throughput and lag
    python -m coko.devtools.runner bench-auth    # cost of authenticating one request
    python -m coko.devtools.runner bench-catalog # catalogue read routes over HTTP (10k, 100k books)
    python -m coko.devtools.runner bench-idle    # CPU of an idle web + worker + relay + servers
    python -m coko.devtools.runner bench-payments # payments.api.has_access, warm and from the database

Each starts the embedded PostgreSQL and Redis when DATABASE_URL / REDIS_URL are
unset, and stops on exit whatever it started.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from . import services
from .simulators import local as simulators
from .supervisor import Supervisor

ROOT = services.ROOT
PYTHON = sys.executable


def _say(message: str) -> None:
    print(f"coko: {message}", file=sys.stderr, flush=True)


def _manage(*args: str, env: dict) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True)


class _RunLock:
    """One ``make run`` at a time per checkout: a second one is told, not crashed."""

    def __init__(self) -> None:
        services.RUN_DIR.mkdir(parents=True, exist_ok=True)
        self.path = services.RUN_DIR / "coko-run.lock"
        self.file = None

    def acquire(self) -> bool:
        self.file = open(self.path, "a+")
        try:
            fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.seek(0)
            self.holder = self.file.read().strip() or "?"
            return False
        self.file.seek(0)
        self.file.truncate()
        self.file.write(str(os.getpid()))
        self.file.flush()
        return True


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _port(environ, variable: str, default: int) -> int:
    value = environ.get(variable) or str(default)
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"coko: {variable}={value!r} is not a TCP port (1-65535)")
    return int(value)


def ports_plan(environ, *, simulators_wanted: list[str]) -> list[tuple[str, str, int]]:
    """``(what, variable, port)`` of every TCP port ``make run`` opens on this machine, each
    configurable by its variable (README, "Configuration"). The databases listen on Unix
    sockets in ``var/`` and take no port."""
    host_port = [("Coko (web)", "COKO_PORT", _port(environ, "COKO_PORT", 8000)),
                 ("the worker's ops endpoint", "COKO_WORKER_METRICS_PORT",
                  _port(environ, "COKO_WORKER_METRICS_PORT", 9191)),
                 ("the relay's ops endpoint", "COKO_RELAY_HTTP_PORT", _port(environ, "COKO_RELAY_HTTP_PORT", 9192))]
    if not environ.get("EMAIL_HOST"):
        host_port.append(("the local SMTP server", "COKO_SMTP_PORT", _port(environ, "COKO_SMTP_PORT", 1025)))
    for name in simulators_wanted:
        variable = simulators.port_variable(name)
        host_port.append((f"the {name} simulator", variable, _port(environ, variable, simulators.default_port(name))))
    return host_port


def ports_taken(plan: list[tuple[str, str, int]], host: str) -> list[str]:
    """One line per port of ``plan`` another program holds, naming the variable to set."""
    return [f"port {port} ({what}) is taken by another program: set {variable} to a free port "
            f"({variable}={port + 10} make run)"
            for what, variable, port in plan if not _port_free(host if variable == "COKO_PORT" else "127.0.0.1", port)]


def run_environment(environ, started: dict[str, str]) -> dict[str, str]:
    """The environment of ``make run``'s processes: the caller's, the servers it started, and
    two defaults a newcomer is better served by — plain-text console logs, and ``DEBUG`` off
    (Coko's own pages, never Django's debug pages; ``DEBUG=1 make run`` turns them on)."""
    return {"COKO_LOG_CONSOLE": "1", "DEBUG": "0", **environ, **started}


def process_commands(*, host: str, port: int, ops_ports: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """The web, worker and relay commands of ``make run`` (``bench-idle`` starts the same);
    ``ops_ports``: extra arguments of the worker and relay (``--http-port 0``: none)."""
    return {
        # no control socket: gunicorn's default is one path for the whole machine
        "web": [PYTHON, "-m", "gunicorn", "config.wsgi:application", "--bind", f"{host}:{port}",
                "--workers", os.environ.get("WEB_CONCURRENCY", "2"), "--threads", "4",
                "--worker-class", "coko.platform.http.gunicorn_worker.EnvelopeWorker",
                "--graceful-timeout", "10", "--no-control-socket"],
        "worker": [PYTHON, "manage.py", "run_worker", *ops_ports],
        "relay": [PYTHON, "manage.py", "relay_outbox", *ops_ports],
    }


def run() -> int:
    host = os.environ.get("COKO_HOST", "127.0.0.1")
    port = _port(os.environ, "COKO_PORT", 8000)
    lock = _RunLock()
    if not lock.acquire():
        _say(f"Coko is already running from this checkout (pid {lock.holder}) on "
             f"http://{host}:{port}/ — stop it with Ctrl-C in its terminal first.")
        return 1
    names = simulators.plan(os.environ)
    plan = ports_plan(os.environ, simulators_wanted=names)
    taken = ports_taken(plan, host)
    for line in taken:
        _say(line)
    if taken:
        return 1
    ports = {variable: number for _, variable, number in plan}

    started = services.ensure_services()
    env = run_environment(os.environ, started.env)
    # A process manager: a web, worker, relay or SMTP process that dies is started
    # again after a back-off (a line in the console), the rest (databases included)
    # goes on. Ctrl-C stops everything.
    supervisor = Supervisor(cwd=ROOT, say=_say)
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        _say("migrating every domain schema")
        _manage("migrate", "--verbosity", "0", env=env)
        _manage("load_demo_data", env=env)
        _manage("collectstatic", "--noinput", "--verbosity", "0", env=env)
        commands = process_commands(host=host, port=port)
        if not os.environ.get("EMAIL_HOST"):
            # A real SMTP server for development: every email lands in var/mail (a Maildir).
            mail_dir, smtp_port = services.VAR / "mail", ports["COKO_SMTP_PORT"]
            commands["smtp"] = [PYTHON, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{smtp_port}",
                                "-c", "aiosmtpd.handlers.Mailbox", str(mail_dir)]
            env.update(EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp_port))
            _say(f"emails are delivered to a local SMTP server on 127.0.0.1:{smtp_port} and kept in {mail_dir}/new")
        if names:
            # Provider simulators for the SMS, push and payment providers nobody configured: every
            # SMS, push and payment webhook lands in var/simulators/<name>.jsonl and at
            # http://127.0.0.1:<port>/_messages; the payment ones send their webhooks to web_url.
            sim_dir = services.VAR / "simulators"
            web_url = f"http://{'127.0.0.1' if host in {'0.0.0.0', '::', ''} else host}:{port}"
            try:
                running = simulators.start(names, sim_dir, {n: ports[simulators.port_variable(n)] for n in names},
                                           cwd=ROOT, env=env, web_url=web_url)
            except RuntimeError as exc:
                _say(str(exc))
                return 1
            supervisor.watch("simulators", running.process)
            env.update(simulators.settings_env(running.urls, sim_dir, web_url=web_url))
            for name, url in running.urls.items():
                what = "payments (and webhooks)" if name in simulators.PAYMENT_PROVIDERS else "messages"
                _say(f"{name} {what} are handled by a local simulator on {url} and kept in "
                     f"{sim_dir / (name + '.jsonl')} (list them: curl {url}/_messages)")
        for name, command in commands.items():
            child = supervisor.start(name, command, env)
            _say(f"started {name} (pid {child.process.pid})")
        _say(f"serving http://{host}:{port}/  (API /api/v1/docs, admin /admin/) — Ctrl-C stops everything")
        while not stopping:
            supervisor.poll()
            time.sleep(0.3)
        return 0
    finally:
        _say("stopping")
        supervisor.stop_all()
        services.stop_services(started)


def test(args: list[str]) -> int:
    started = services.ensure_services()
    env = {**os.environ, **started.env}
    try:
        _say("checking the import contracts (lint-imports)")
        lint = subprocess.run([str(Path(PYTHON).parent / "lint-imports"), "importlinter.ini",
                               "--no-cache"], cwd=ROOT, env=env)
        if lint.returncode != 0:
            _say("import contracts broken")
            return lint.returncode
        workers = os.environ.get("COKO_TEST_WORKERS", str(max(2, min(4, os.cpu_count() or 2))))
        mode = "split databases" if env.get("COKO_SPLIT_DATABASES") in {"1", "true"} else "one database"
        _say(f"running the suite ({mode}, {workers} workers)")
        result = subprocess.run([PYTHON, "-m", "pytest", "-n", workers, "--dist", "loadfile", *args],
                                cwd=ROOT, env=env)
        return result.returncode
    finally:
        services.stop_services(started)


BENCHMARKS = {"bench-events": "events", "bench-auth": "auth", "bench-catalog": "catalog", "bench-idle": "idle",
              "bench-payments": "payments"}


def bench(name: str, args: list[str]) -> int:
    """``python -m coko.devtools.bench.<name>`` with the embedded servers when none is configured."""
    started = services.ensure_services()
    env = {**os.environ, **started.env}
    try:
        return subprocess.run([PYTHON, "-m", f"coko.devtools.bench.{BENCHMARKS[name]}", *args], cwd=ROOT,
                              env=env).returncode
    finally:
        services.stop_services(started)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test", *BENCHMARKS}:
        print(__doc__)
        return 2
    os.chdir(ROOT)
    command, rest = sys.argv[1], sys.argv[2:]
    if command == "run":
        return run()
    if command == "test":
        return test(rest)
    return bench(command, rest)


if __name__ == "__main__":
    sys.exit(main())
