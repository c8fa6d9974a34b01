"""make bench-idle: what an idle platform costs — CPU seconds per process over N idle seconds.

Starts the processes ``make run`` starts (web: gunicorn, its workers; the dramatiq worker;
the outbox relay — the same commands, ``coko.devtools.runner.process_commands``) against
the configured database (migrated first, as ``make run`` does) and Redis, waits until each
is up and a settling period has passed, then sends nothing for ``--seconds`` (default 60)
and prints, per process, the CPU seconds it used and the share of one core:

* web, worker, relay: each process tree (the gunicorn master and its workers together);
* PostgreSQL: the embedded server's whole process tree (background processes, backends,
  and the backends that exited, through the postmaster); with a server of the machine
  (``DATABASE_URL``), only the backends of this database, the server's own background
  processes being shared with everyone;
* Redis: the broker's server process (``INFO server``), when it runs on this machine;
* the Redis commands processed meanwhile, by command (the polling a busy idle shows as).

The aim (issue 12): under 1% of a core in total.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from coko.devtools import services
from coko.devtools.bench.machine import cpu_used, machine_load, proc_stat, tree_cpu

ROOT = services.ROOT


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _wait_ready(name: str, process: subprocess.Popen, log: Path, ready) -> None:
    deadline = time.monotonic() + 120
    while not ready():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{name} failed to start; see {log}")
        time.sleep(0.1)


def _http_ok(url: str):
    def ready() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status == 200
        except OSError:
            return False
    return ready


def _postgres_pids() -> tuple[list[int], str]:
    """The PostgreSQL processes to count, and what they are."""
    from django.db import connection

    if urlparse(os.environ["DATABASE_URL"]).hostname in (None, "") or str(services.RUN_DIR) in os.environ[
            "DATABASE_URL"]:
        pid_file = services.PG_DATA / "postmaster.pid"
        if pid_file.exists():
            return [int(pid_file.read_text().split()[0])], "embedded server, every process"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                       " AND pid <> pg_backend_pid()")
        pids = [row[0] for row in cursor.fetchall()]
    connection.close()
    return pids, "this database's backends (the server is shared)"


def _redis():
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    pid = int(client.info("server")["process_id"])
    return client, (pid if proc_stat(pid) else None)


def _command_counts(client) -> dict[str, int]:
    return {name.removeprefix("cmdstat_"): int(stats["calls"])
            for name, stats in client.info("commandstats").items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60, help="idle seconds measured")
    parser.add_argument("--settle", type=float, default=10, help="seconds waited after start-up")
    options = parser.parse_args()

    from coko.devtools.runner import process_commands

    os.environ.update({"DJANGO_SETTINGS_MODULE": "config.settings", "COKO_LOG_CONSOLE": "1", "DEBUG": "0"})
    host = "127.0.0.1"
    port = _free_port(host)
    env = {**os.environ, "COKO_OPS_BIND": host}
    subprocess.run([sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True)
    import django

    django.setup()
    redis_client, redis_pid = _redis()

    print(f"coko bench-idle: web (gunicorn, {os.environ.get('WEB_CONCURRENCY', '2')} workers x 4 threads), "
          f"worker, relay started as by make run; {options.settle:g} s to settle, then "
          f"{options.seconds:g} idle seconds measured; {os.cpu_count()} CPUs")
    processes: dict[str, subprocess.Popen] = {}
    logs = services.VAR / "bench-idle"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        for name, command in process_commands(host=host, port=port, ops_ports=("--http-port", "0")).items():
            log = logs / f"{name}.log"
            processes[name] = subprocess.Popen(command, cwd=ROOT, env=env, stdout=open(log, "w"),
                                               stderr=subprocess.STDOUT, start_new_session=True)
        _wait_ready("web", processes["web"], logs / "web.log", _http_ok(f"http://{host}:{port}/health"))
        for name, marker in (("worker", "worker running"), ("relay", "relay running")):
            log = logs / f"{name}.log"
            _wait_ready(name, processes[name], log, lambda log=log, marker=marker: marker in log.read_text())
        time.sleep(options.settle)

        pg_pids, pg_what = _postgres_pids()
        groups = {name: [process.pid] for name, process in processes.items()}
        groups["postgresql"] = pg_pids
        if redis_pid:
            groups["redis"] = [redis_pid]
        with machine_load("bench-idle") as load:
            load.include(*pg_pids, redis_pid)
            before = {name: tree_cpu(pids) for name, pids in groups.items()}
            commands_before = _command_counts(redis_client)
            began = time.monotonic()
            time.sleep(options.seconds)
            commands_after = _command_counts(redis_client)
            after = {name: tree_cpu(pids) for name, pids in groups.items()}
            wall = time.monotonic() - began
        print(f"\nCPU over {wall:.0f} idle seconds, per process (share of one core):")
        total = 0.0
        for name in groups:
            used = cpu_used(before[name], after[name])
            total += used
            note = f"  [{pg_what}]" if name == "postgresql" else ""
            print(f"  {name:<11} {used:7.2f} CPU-s  {100 * used / wall:6.2f} %{note}")
        if not redis_pid:
            print("  redis: not on this machine, not counted")
        print(f"  {'total':<11} {total:7.2f} CPU-s  {100 * total / wall:6.2f} %  (aim: under 1 %)")
        calls = {name: commands_after.get(name, 0) - commands_before.get(name, 0) for name in commands_after}
        busiest = sorted(((n, c) for n, c in calls.items() if c > 0), key=lambda item: -item[1])[:6]
        print(f"Redis commands per second meanwhile: {sum(calls.values()) / wall:.1f} ("
              + (", ".join(f"{name} {count / wall:.1f}" for name, count in busiest) or "none") + ")")
        return 0
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, 15)
        for process in processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)


if __name__ == "__main__":
    sys.exit(main())
