"""manage.py relay_outbox: the outbox relay process (run it as many times as you like).

Each relay also keeps the clock of scheduled jobs (``coko.platform.scheduling``): one of them
at a time, by a Redis lease, enqueues the jobs that are due (``--no-scheduler``: not this one).
"""

import signal

import dramatiq
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from coko.platform import scheduling, tracing
from coko.platform.events.relay import Relay
from coko.platform.http.ops import readiness_checks
from coko.platform.ops_server import serve_ops


class Command(BaseCommand):
    help = "Relay committed events from every domain's outbox to the broker."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="drain what is pending, then exit")
        parser.add_argument("--domain", action="append", dest="domains",
                            help="relay only this domain (repeatable)")
        parser.add_argument("--no-scheduler", action="store_true",
                            help="do not take part in timing the scheduled jobs")
        parser.add_argument("--batch-size", type=int, default=settings.COKO_EVENTS["RELAY_BATCH"])
        parser.add_argument("--http-port", type=int, default=settings.RELAY_HTTP_PORT,
                            help="port of /health, /ready, /metrics (0: none)")
        parser.add_argument("--http-host", default=settings.COKO_OPS_BIND,
                            help="address of /health, /ready, /metrics (default COKO_OPS_BIND, "
                                 "loopback unless set)")

    def handle(self, *args, once=False, domains=None, batch_size=500, http_port=0, http_host=None,
               no_scheduler=False, **options):
        unknown = set(domains or []) - set(settings.COKO_DOMAINS)
        if unknown:
            raise CommandError(f"unknown domain(s): {', '.join(sorted(unknown))}")
        tracing.configure(role="relay")
        relay = Relay(domains=domains or list(settings.COKO_DOMAINS), batch_size=batch_size)
        if once:
            for domain in relay.domains:
                relay.route_unrouted(domain)
            count = relay.run_once()
            self.stdout.write(f"relayed {count} event(s)")
            tracing.shutdown()
            return
        serve_ops(port=http_port, host=http_host, ready=lambda: readiness_checks(relay.domains))
        scheduler = None
        if not no_scheduler:
            scheduler = scheduling.Clock(redis=dramatiq.get_broker().client, namespace=settings.REDIS_NAMESPACE)
            scheduler.run_in_thread()

        def stop(*_):
            relay.stop()
            if scheduler is not None:
                scheduler.stop()

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, stop)
        self.stdout.write(f"relay running for {', '.join(relay.domains)}"
                          + ("" if no_scheduler else f"; scheduled jobs: {len(scheduling.jobs())}"))
        relay.run_forever()
        tracing.shutdown()  # the last spans exported
