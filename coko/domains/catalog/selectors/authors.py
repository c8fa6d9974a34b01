"""Authors: those with a published book, by name (keyset pages), found despite typos, and one
author's page."""

from __future__ import annotations

from django.db import connections, transaction
from django.db.models import F, Q, Value
from django.db.models.expressions import RawSQL

from ..models import Author
from ..search.pg import trgm_schema
from .cards import DB
from .lists import BookFilters, book_page, cursor_decode, cursor_encode
from .names import folded

#: pg_trgm word similarity an author's name needs to be found by a mistyped query ("Achebee",
#: "Senghr"): the book search's for one word (``search.pg.WORD_SIMILARITY``)
NAME_SIMILARITY = 0.5
#: shorter queries are matched as written only (two letters make no useful trigram)
NAME_SIMILARITY_FROM = 3


def _named_like(query: str) -> Q:
    """Authors whose name contains ``query`` (case and accents aside) or, for a query of three
    letters or more, comes near it (pg_trgm word similarity, on the trigram index of names)."""
    found = Q(key__contains=folded(Value(query)))
    if len(query.strip()) >= NAME_SIMILARITY_FROM:
        trgm = trgm_schema(connections[DB])
        found |= Q(id__in=RawSQL(
            f"SELECT id FROM catalog_author WHERE lower(unaccent_immutable(name))"
            f" OPERATOR({trgm}.%%>) lower(unaccent_immutable(%s))", [query]))
    return found


def author_page(*, query: str | None = None, cursor: str | None = None, limit: int = 20) -> tuple[list[dict], str | None]:
    """Authors with at least one published book, by name (keyset on sort name); with ``query``,
    those whose name contains it or comes near it (typos: ``_named_like``)."""
    authors = Author.objects.filter(book_count__gt=0)
    if query:
        authors = authors.annotate(key=folded(F("name"))).filter(_named_like(query))
    if cursor:
        value, author_id = cursor_decode(cursor=cursor, sort="author")
        authors = authors.filter(Q(sort_name__gt=value) | Q(sort_name=value, id__gt=author_id))
    authors = authors.order_by("sort_name", "id")[: limit + 1]
    if query and len(query.strip()) >= NAME_SIMILARITY_FROM:
        with transaction.atomic(using=DB), connections[DB].cursor() as cursor_:  # the threshold: SET LOCAL
            cursor_.execute("SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
                            [f"{NAME_SIMILARITY:.2f}"])
            rows = list(authors)
    else:
        rows = list(authors)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = cursor_encode(sort="author", value=rows[-1].sort_name, book_id=rows[-1].id) if more else None
    return [author_card(a) for a in rows], next_cursor


def author_card(author: Author) -> dict:
    return {"id": str(author.id), "name": author.name, "book_count": author.book_count}


def author_card_of(*, author_id) -> dict | None:
    """An author's card (any author, with or without published books), or ``None``."""
    author = Author.objects.filter(id=author_id).first()
    return author_card(author) if author else None


def author_detail(*, author_id, lang: str = "en", limit: int = 50) -> dict | None:
    """An author with their published books (most popular first)."""
    author = Author.objects.filter(id=author_id).first()
    if author is None:
        return None
    page = book_page(filters=BookFilters(author_id=str(author.id)), sort="popularity", limit=limit, lang=lang)
    return {**author_card(author), "bio": author.bio, "books": page.items, "next_cursor": page.next_cursor}
