"""Numbers other domains feed: a book's rating aggregate and popularity."""

from __future__ import annotations

from coko.platform.services import use_case

from ..models import Book
from ._shared import DB


@use_case(DB)
def book_stats_set(*, book_id, rating_average=None, rating_count=None, popularity=None) -> None:
    """Set a book's rating aggregate or popularity (fed by the reading and community domains).

    Not announced as ``book.updated``: these numbers change constantly; lists pick them up
    when their cache expires. ``None`` leaves a number as it is.
    """
    given = {k: v for k, v in {"rating_average": rating_average, "rating_count": rating_count,
                               "popularity": popularity}.items() if v is not None}
    if given:
        Book.objects.filter(id=book_id).update(**given)
