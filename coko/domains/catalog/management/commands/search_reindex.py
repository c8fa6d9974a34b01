"""manage.py search_reindex: rebuild the book search index.

    manage.py search_reindex              # the configured backend: OpenSearch when OPENSEARCH_URL
                                          # is set (new index, bulk load, atomic alias swap,
                                          # old index deleted: searches never stop), else the
                                          # PostgreSQL documents
    manage.py search_reindex --postgres   # (also) recompute every PostgreSQL document — after a
                                          # bulk load, or a change of the document's shape

Safe to run at any time and to run again; the catalog keeps serving searches meanwhile.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand

from ... import search


class Command(BaseCommand):
    help = "Rebuild the book search index (OpenSearch without downtime, or the PostgreSQL documents)."

    def add_arguments(self, parser):
        parser.add_argument("--postgres", action="store_true",
                            help="recompute the PostgreSQL documents too (the fallback when OpenSearch is used)")

    def handle(self, *args, **options):
        began = time.perf_counter()
        if options["postgres"] and settings.OPENSEARCH_URL:
            changed = search.documents_refresh_all()
            self.stdout.write(f"postgresql: {changed:,} search documents changed")
        result = search.reindex()
        if "index" in result:
            replaced = ", ".join(result["replaced"]) or "nothing"
            self.stdout.write(f"opensearch: {result['books']:,} books in {result['index']} "
                              f"(alias {settings.OPENSEARCH_INDEX}; replaced {replaced})")
        else:
            self.stdout.write(f"postgresql: {result['documents']:,} search documents changed")
        self.stdout.write(f"done in {time.perf_counter() - began:.1f} s")
