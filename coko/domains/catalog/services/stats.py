"""Numbers other domains feed: a book's rating aggregate and popularity.

A book's ``popularity`` (the popularity sort) is the sum of three numbers, on one scale:

* ``popularity_seed`` — what an import knew (goodbooks' ratings count, log-scaled by
  ``importing.popularity_seed``: 4.8 million ratings are ~1000 points, not 4.8 million);
* ``editorial_boost`` — the editors' weight (the starter books', staff's in the console);
* readers' activity here — what the reading and community domains report (``book_stats_set``).
"""

from __future__ import annotations

from django.db.models import F

from coko.platform.services import use_case

from .. import cache
from ..models import Book
from ._shared import DB


@use_case(DB)
def book_stats_set(*, book_id, rating_average=None, rating_count=None, popularity=None) -> None:
    """Set a book's rating aggregate or its readers' activity (``popularity``: fed by the
    reading and community domains), to which the book's seed and editorial boost are added.

    Not announced as ``book.updated``: these numbers change constantly (community and reading
    events, in bursts). Only this book's cached entries go cold (``cache.book_stats_changed``),
    nothing catalogue-wide: lists pick the numbers up when their short-lived pages expire.
    ``None`` leaves a number as it is.
    """
    given = {k: v for k, v in {"rating_average": rating_average, "rating_count": rating_count}.items()
             if v is not None}
    if popularity is not None:
        given["popularity"] = F("popularity_seed") + F("editorial_boost") + max(0, int(popularity))
    if given and Book.objects.filter(id=book_id).update(**given):
        cache.book_stats_changed(book_id, using=DB)
