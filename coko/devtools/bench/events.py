"""make bench-events: end-to-end event throughput and lag, publish → handler committed.

Runs against a scratch database (``<name>_bench``) on the configured server, with
one relay process and one dramatiq worker process, as in production. Prints:

* baseline: how fast the publishers alone write events to the outbox (no relay);
* end to end: events per second from the first publish to the last handler
  commit, and the p50/p95/p99/max lag of each event (handler commit time minus
  publish time), for --events events over --aggregates aggregates; then the same
  with --batched (10) events per transaction, as a use case publishing several;
* backlog drain: how fast the relay and worker clear --events events that
  piled up while the relay was stopped (the delivery capacity).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[3]


def _bench_url(url: str) -> str:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path=parsed.path.rstrip("/") + "_bench"))


def _prepare_environment() -> str:
    from coko.devtools import services

    base = os.environ.get("DATABASE_URL") or services.embedded_database_url()
    url = _bench_url(base)
    os.environ.update({
        "DATABASE_URL": url,
        "COKO_SPLIT_DATABASES": "0",
        "COKO_EXTRA_HANDLER_MODULES": "coko.devtools.bench.handlers",
        "COKO_REDIS_NAMESPACE": "cokobench",
        "COKO_LOG_CONSOLE": "1",
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "COKO_RELAY_IDLE_S": "0.2",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    })
    import psycopg

    parsed = urlparse(url)
    admin = urlunparse(parsed._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.path.lstrip("/")}"')
    return url


def _publish(total: int, *, aggregates: int, threads: int, per_transaction: int) -> float:
    """Publish ``total`` events from ``threads`` threads; returns the seconds it took."""
    from django.db import connections, transaction

    from coko.devtools.bench.handlers import Pinged
    from coko.platform.events import publish

    def work(offset: int) -> None:
        for start in range(offset * per_transaction, total, threads * per_transaction):
            with transaction.atomic(using="catalog"):
                for n in range(start, min(start + per_transaction, total)):
                    publish(producer="catalog", type="bench.pinged", aggregate_id=f"a{n % aggregates}",
                            payload=Pinged(n=n))
        connections["catalog"].close()

    began = time.perf_counter()
    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return time.perf_counter() - began


def _start(*args: str, marker: str) -> subprocess.Popen:
    log = open(ROOT / "var" / f"bench-{args[0]}.log", "w")
    proc = subprocess.Popen([sys.executable, "manage.py", *args, "--http-port", "0"], cwd=ROOT,
                            env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while marker not in Path(log.name).read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"{args[0]} failed to start; see {log.name}")
        time.sleep(0.05)
    return proc


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        proc.wait(30)


def _wait_for_effects(count: int, *, quiet: bool = False) -> list[tuple[float, float]] | None:
    """(lag ms, commit epoch) of every effect, once ``count`` of them are committed."""
    from django.db import connections

    deadline = time.monotonic() + 600
    done = 0
    while time.monotonic() < deadline:
        with connections["analytics"].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM bench_effect")
            done = cursor.fetchone()[0]
        if done >= count:
            with connections["analytics"].cursor() as cursor:
                cursor.execute("SELECT extract(epoch FROM committed_at - occurred_at) * 1000,"
                               " extract(epoch FROM committed_at) FROM bench_effect")
                rows = [(float(lag), float(at)) for lag, at in cursor.fetchall()]
            if len(rows) != count:
                print(f"FAILED: {len(rows)} effects for {count} events")
                return None
            return rows
        time.sleep(0.002 if quiet else 0.2)
    print(f"FAILED: only {done} of {count} events took effect")
    return None


def _truncate_effects() -> None:
    from django.db import connections

    with connections["analytics"].cursor() as cursor:
        cursor.execute("TRUNCATE bench_effect")


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1]


def _end_to_end(options, *, per_transaction: int, label: str) -> bool:
    """Publish ``options.events`` with the relay and worker running; print rate and lag."""
    began = time.time()
    _publish(options.events, aggregates=options.aggregates, threads=options.publishers,
             per_transaction=per_transaction)
    rows = _wait_for_effects(options.events)
    if rows is None:
        return False
    lags = [lag for lag, _ in rows]
    elapsed = max(at for _, at in rows) - began
    print(f"{label}: {options.events / elapsed:,.0f} events/s "
          f"({elapsed:.2f} s from first publish to last handler commit)")
    print(f"  lag (publish -> handler committed): p50 {_percentile(lags, 50):.0f} ms, "
          f"p95 {_percentile(lags, 95):.0f} ms, p99 {_percentile(lags, 99):.0f} ms, "
          f"max {max(lags):.0f} ms", flush=True)
    return True


def _one_at_a_time(count: int, *, pause_s: float) -> None:
    """Single events ``pause_s`` apart, the relay and worker idle in between: the latency
    of the first event after a pause (what a polling consumer's back-off adds to)."""
    _truncate_effects()
    for n in range(count):
        _publish(1, aggregates=1, threads=1, per_transaction=1)
        rows = _wait_for_effects(n + 1, quiet=True)
        time.sleep(pause_s)
    lags = sorted(lag for lag, _ in rows)
    print(f"one at a time ({count} single events {pause_s:g} s apart): lag p50 "
          f"{_percentile(lags, 50):.0f} ms, max {max(lags):.0f} ms", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--aggregates", type=int, default=1_000)
    parser.add_argument("--publishers", type=int, default=2, help="publishing threads")
    parser.add_argument("--per-transaction", type=int, default=1, help="events per transaction")
    parser.add_argument("--worker-threads", type=int, default=8)
    parser.add_argument("--batched", type=int, default=10,
                        help="then end to end again with this many events per transaction (0: not)")
    options = parser.parse_args()

    _prepare_environment()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    import dramatiq

    print(f"coko bench-events: {options.events} events, {options.aggregates} aggregates, "
          f"{options.publishers} publisher threads, {options.per_transaction} event(s) per "
          f"transaction, 1 relay, 1 worker x {options.worker_threads} threads, {os.cpu_count()} CPUs")
    call_command("migrate", verbosity=0)
    client = dramatiq.get_broker().client
    for key in client.scan_iter("cokobench:*"):
        client.delete(key)
    with connections["analytics"].cursor() as cursor:
        cursor.execute("CREATE TABLE bench_effect (event_id uuid PRIMARY KEY, occurred_at timestamptz,"
                       " committed_at timestamptz NOT NULL DEFAULT clock_timestamp())")

    # Baseline: the publishers alone (outbox writes, nothing relayed).
    baseline = _publish(options.events, aggregates=options.aggregates, threads=options.publishers,
                        per_transaction=options.per_transaction)
    with connections["catalog"].cursor() as cursor:
        cursor.execute("TRUNCATE catalog_outboxevent")
    print(f"baseline  publish only: {options.events / baseline:,.0f} events/s "
          f"({baseline:.2f} s for {options.events})")

    worker = _start("run_worker", "--threads", str(options.worker_threads), marker="worker running")
    relay = _start("relay_outbox", marker="relay running")
    try:
        # End to end: publishers, relay and worker all running at once.
        if not _end_to_end(options, per_transaction=options.per_transaction, label="end to end"):
            return 1
        if options.batched and options.batched != options.per_transaction:
            _truncate_effects()
            if not _end_to_end(options, per_transaction=options.batched,
                               label=f"end to end, {options.batched} events per transaction"):
                return 1

        _one_at_a_time(40, pause_s=0.25)

        # Delivery capacity: a backlog of events waiting while the relay was down.
        _stop(relay)
        _truncate_effects()
        _publish(options.events, aggregates=options.aggregates, threads=options.publishers,
                 per_transaction=options.per_transaction)
        relay = _start("relay_outbox", marker="relay running")
        began = time.time()
        rows = _wait_for_effects(options.events)
        if rows is None:
            return 1
        elapsed = max(at for _, at in rows) - began
        print(f"backlog drain: {options.events / elapsed:,.0f} events/s "
              f"({options.events} pending events relayed and handled in {elapsed:.2f} s)")
    finally:
        _stop(relay)
        _stop(worker)
    print("every event took effect exactly once")
    return 0


if __name__ == "__main__":
    from coko.devtools.bench.machine import machine_load

    with machine_load("bench-events"):
        status = main()
    sys.exit(status)
