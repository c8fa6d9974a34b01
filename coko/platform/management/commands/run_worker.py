"""manage.py run_worker: a dramatiq worker for the event queues (and every other actor)."""

import signal
import threading

import dramatiq
from django.conf import settings
from django.core.management.base import BaseCommand
from dramatiq import Worker

from coko.platform import tracing
from coko.platform.db.connections import DatabaseConnections
from coko.platform.http.ops import readiness_checks
from coko.platform.ops_server import serve_ops


WORKER_TIMEOUT_MS = 1000


class Command(BaseCommand):
    help = "Run a dramatiq worker in this process until SIGINT/SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--threads", type=int, default=settings.DRAMATIQ_WORKER_THREADS)
        parser.add_argument("--queue", action="append", dest="queues",
                            help="consume only this queue (repeatable); default: all")
        parser.add_argument("--http-port", type=int, default=settings.DRAMATIQ_PROMETHEUS_PORT,
                            help="port of /health, /ready, /metrics (0: none)")
        parser.add_argument("--http-host", default=settings.COKO_OPS_BIND,
                            help="address of /health, /ready, /metrics (default COKO_OPS_BIND, "
                                 "loopback unless set)")

    def handle(self, *args, threads=8, queues=None, http_port=0, http_host=None, **options):
        tracing.configure(role="worker")
        broker = dramatiq.get_broker()
        # Connections checked around every message, as Django does around requests.
        broker.add_middleware(DatabaseConnections())
        broker.emit_after("process_boot")
        # Idle consumers wait for the broker's doorbell, not a timer (events/doorbell.py);
        # worker_timeout only paces how soon an idle worker thread notices a stop.
        worker = Worker(broker, queues=set(queues) if queues else None, worker_threads=threads,
                        worker_timeout=WORKER_TIMEOUT_MS)
        stopping = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stopping.set())
        serve_ops(port=http_port, host=http_host, ready=lambda: readiness_checks(list(settings.COKO_DOMAINS)))
        worker.start()
        self.stdout.write(f"worker running: {threads} threads, queues "
                          f"{', '.join(sorted(worker.consumers)) or 'all'}")
        stopping.wait()
        worker.stop(timeout=10_000)
        broker.close()
        tracing.shutdown()  # the last spans exported
