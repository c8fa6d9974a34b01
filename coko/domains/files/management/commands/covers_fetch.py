"""manage.py covers_fetch: queue the fetch of imported books' covers into storage, most popular
first (``make run`` queues ``COKO_FILES_COVER_FETCHES_AT_START`` of them; this queues more)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from coko.domains.files import covers


class Command(BaseCommand):
    help = "Queue the cover fetch of up to --limit imported books (a worker runs them)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=1000, help="books at most (default 1000)")

    def handle(self, *args, limit: int, **options):
        queued = covers.cover_fetches_enqueue(limit=max(0, limit))
        self.stdout.write(f"{queued} cover fetches queued")
