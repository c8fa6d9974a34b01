"""manage.py catalog_synthesize: add synthetic published books (benchmark catalogues).

    manage.py catalog_synthesize --books 10000     # add 10,000 books
    manage.py catalog_synthesize --total 100000    # add as many as bring the catalogue to 100,000

Titles and authors come from word lists in French, English, Wolof and Swahili; categories
from the existing tree; popularity and ratings follow realistic distributions. Book *n* is
always the same book (deterministic), and running the command again continues the
numbering. The books are not announced (no ``book.published``) unless ``--events``: they
exist for load tests, not for the other domains.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ... import importing


class Command(BaseCommand):
    help = "Add deterministic synthetic books (for benchmarks): --books N, or --total N."

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--books", type=int, help="how many books to add")
        group.add_argument("--total", type=int, help="add books until the catalogue holds this many")
        parser.add_argument("--events", action="store_true", help="announce each book (book.published)")

    def handle(self, *args, **options):
        if (options["books"] or 0) < 0 or (options["total"] or 0) < 0:
            raise CommandError("--books and --total are positive numbers")
        result = importing.synthetic_load(books=options["books"], total=options["total"], events=options["events"],
                                          say=self.stdout.write)
        self.stdout.write(f"synthetic catalogue: {result.created:,} books added in {result.seconds:.1f} s "
                          f"(search documents {result.search_seconds:.1f} s)")
