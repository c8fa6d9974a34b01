"""Who and what a reader names in a filter: an author by id or by name (case, accents and
spacing aside), a publisher or a series by id — each checked, so an unknown one is a 404
rather than an empty page."""

from __future__ import annotations

import uuid

from django.db.models import F, Func, Value
from django.db.models.functions import Lower

from .. import errors
from ..models import Author, Publisher, Series


def folded(expression):
    """``lower(unaccent_immutable(expression))``: a name with case and accents aside, as the
    trigram index on authors' names (migration 0007) has it."""
    return Lower(Func(expression, function="unaccent_immutable"))


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def author_ids_named(*, author: str) -> list:
    """The ids of the author ``author`` names: its id, or its name written any way as to case,
    accents and spacing ("mariama ba" is Mariama Bâ; homonyms are all kept). Raises
    ``author_not_found`` (an id) or ``author_name_not_found`` (a name) when there is none."""
    author = " ".join(str(author).split())
    as_id = _uuid(author)
    if as_id is not None:
        if not Author.objects.filter(id=as_id).exists():
            raise errors.AUTHOR_NOT_FOUND(author_id=str(as_id))
        return [as_id]
    ids = list(Author.objects.annotate(key=folded(F("name"))).filter(key=folded(Value(author)))
               .values_list("id", flat=True))
    if not ids:
        raise errors.AUTHOR_NAME_NOT_FOUND(author=author)
    return ids


def publisher_checked(*, publisher_id) -> str:
    """``publisher_id`` when there is such a publisher, else ``publisher_not_found``."""
    if not Publisher.objects.filter(id=publisher_id).exists():
        raise errors.PUBLISHER_NOT_FOUND(publisher_id=str(publisher_id))
    return str(publisher_id)


def series_checked(*, series_id) -> str:
    """``series_id`` when there is such a series, else ``series_not_found``."""
    if not Series.objects.filter(id=series_id).exists():
        raise errors.SERIES_NOT_FOUND(series_id=str(series_id))
    return str(series_id)
