"""manage.py load_goodbooks: import the goodbooks-10k catalogue (10,000 books) into the catalog.

    manage.py load_goodbooks --source DIR      # books.csv + book_genres.csv (or book_metadata.csv)
    manage.py load_goodbooks                   # DIR from COKO_GOODBOOKS_DIR
    manage.py load_goodbooks --download        # fetch both files (SHA-1 pinned) into var/cache/goodbooks

The data is goodbooks-10k by Zygmunt Zając (CC BY-SA 4.0), originally collected from
Goodreads: Coko reads it at run time and never ships it. Safe to run twice (books already
imported are skipped). Access models and prices are synthetic (see catalog.importing).
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ... import importing


class Command(BaseCommand):
    help = "Import goodbooks-10k (books.csv + book_genres.csv) as published books; idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--source", help="directory holding books.csv and book_genres.csv "
                                             "(default: $COKO_GOODBOOKS_DIR)")
        parser.add_argument("--download", action="store_true",
                            help="download the pinned upstream files (SHA-1 checked) into --cache-dir first")
        parser.add_argument("--cache-dir", default=str(Path(settings.BASE_DIR) / "var" / "cache" / "goodbooks"),
                            help="where --download puts the files (default: var/cache/goodbooks)")
        parser.add_argument("--download-url", default=os.environ.get("COKO_GOODBOOKS_URL") or None,
                            help="a mirror serving books.csv and book_genres.csv under this URL "
                                 "(default: the upstream GitHub files; env COKO_GOODBOOKS_URL)")
        parser.add_argument("--no-events", action="store_true",
                            help="do not announce the books (book.published); for throwaway databases")

    def handle(self, *args, **options):
        say = self.stdout.write
        say(f"data: {importing.GOODBOOKS_ATTRIBUTION}")
        try:
            if options["download"]:
                source = importing.goodbooks_download(dest=Path(options["cache_dir"]),
                                                      base_url=options["download_url"], say=say)
            else:
                source = options["source"] or os.environ.get("COKO_GOODBOOKS_DIR")
                if not source:
                    raise CommandError("say where the files are: --source DIR, COKO_GOODBOOKS_DIR=DIR, "
                                       "or --download")
            result = importing.goodbooks_load(source=Path(source), events=not options["no_events"], say=say)
        except importing.GoodbooksError as exc:
            raise CommandError(str(exc)) from exc
        if result.duplicates:
            say(f"{result.duplicates:,} book(s) skipped: already in the catalogue under the same title and author")
        say(f"goodbooks-10k: {result.created:,} books imported, {result.skipped:,} already there, "
            f"in {result.seconds:.1f} s (events {result.event_seconds:.1f} s, "
            f"search documents {result.search_seconds:.1f} s)")
