"""The catalog's demo data, loaded by ``manage.py load_demo_data`` (``make run``, every start).

* An empty catalogue gets Coko's **starter catalogue**: about fifty real books by African
  authors, described by the Coko team (``data/starter_books.json``), with the category tree,
  put forward in the ``featured`` collection (made once; then it is staff's to edit).
* When ``COKO_GOODBOOKS_DIR`` names a directory holding goodbooks-10k's ``books.csv`` and
  ``book_genres.csv`` (``make run`` sets it to ``../shared/data/recsys/goodbooks-10k`` when that
  directory exists — a development convenience), its 10,000 books are imported once too.
  That data is CC BY-SA 4.0 and collected from Goodreads: it is read, never shipped.

Quick when already loaded: two indexed queries.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import importing
from .models import Book


def load(*, stdout) -> int:
    created = 0
    if not Book.objects.exists():
        result = importing.starter_load()
        stdout.write(f"catalog: starter catalogue loaded, {result.created} books ({result.seconds:.1f} s)")
        created += result.created
    if importing.starter_featured_ensure():
        stdout.write("catalog: the starter books make the 'featured' collection")
    source = os.environ.get("COKO_GOODBOOKS_DIR", "").strip()
    if not source:
        return created
    if Book.objects.filter(external_ids__has_key=importing.GOODREADS).exists():
        stdout.write("catalog: goodbooks-10k already imported (manage.py load_goodbooks completes an "
                     "interrupted import)")
        return created
    if not (Path(source) / "books.csv").is_file():
        stdout.write(f"catalog: COKO_GOODBOOKS_DIR={source} holds no books.csv; goodbooks-10k not imported")
        return created
    stdout.write(f"catalog: importing goodbooks-10k from {source} — data: {importing.GOODBOOKS_ATTRIBUTION}")
    try:
        result = importing.goodbooks_load(source=Path(source), say=stdout.write)
    except importing.GoodbooksError as exc:
        stdout.write(f"catalog: goodbooks-10k not imported: {exc}")
        return created
    same = f" ({result.duplicates} already here from the starter catalogue)" if result.duplicates else ""
    stdout.write(f"catalog: goodbooks-10k imported, {result.created:,} books in {result.seconds:.1f} s{same}")
    return created + result.created
