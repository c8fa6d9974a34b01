"""Lists of books: filtered keyset pages (and their cursors), search results, books by id,
an author's own books, the demo books still without a file."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, Q

from .. import contracts, errors, search
from ..models import TITLE_LANGUAGES, Book, BookAuthor, Format, title_shown
from .cards import book_card, book_full, with_cards, with_everything
from .categories import category_ids_under

#: keyset pagination: (sort field, descending?) — ties broken by id ascending
SORT_KEYS = {
    "popularity": ("popularity", True),
    "newest": ("published_at", True),
    "rating": ("rating_average", True),
    "title": ("title_shown", False),
}


@dataclass(frozen=True)
class BookFilters:
    category: str | None = None  # slug; includes the descendants
    author_id: str | None = None
    language: str | None = None
    access_model: str | None = None
    price_min_xof: int | None = None
    price_max_xof: int | None = None
    has_files: bool = False  # only books with at least one format (OPDS entries need one)


@dataclass
class BookPage:
    items: list[dict]
    next_cursor: str | None
    limit: int
    sort: str
    facets: dict = field(default_factory=dict)
    total: int | None = None

#: how deep search results may be paged (the API's ``offset`` bound)
MAX_SEARCH_OFFSET = 10_000


# --- cursors ---------------------------------------------------------------------------------
def _encode(value) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def cursor_encode(*, sort: str, value, book_id) -> str:
    raw = json.dumps([sort, _encode(value), str(book_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(*, cursor: str, sort: str) -> tuple[object, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, book_id = json.loads(raw)
        if cursor_sort != sort:
            raise ValueError("cursor of another sort")
        if sort == "newest" and value is not None:
            value = datetime.fromisoformat(value)
        elif sort == "rating":
            value = Decimal(value)
        return value, str(book_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise errors.INVALID_CURSOR(cursor=cursor) from exc


def _after(sort: str, value, book_id: str) -> Q:
    field_name, descending = SORT_KEYS[sort]
    if value is None:  # nulls sort last (newest: never-published books are not listed anyway)
        return Q(**{f"{field_name}__isnull": True, "id__gt": book_id})
    beyond = f"{field_name}__lt" if descending else f"{field_name}__gt"
    return Q(**{beyond: value}) | Q(**{field_name: value, "id__gt": book_id})

def _filtered(filters: BookFilters):
    books = Book.objects.filter(status="published")
    if filters.category:
        ids = category_ids_under(slug=filters.category)
        books = books.filter(id__in=Book.categories.through.objects
                             .filter(category_id__in=ids).values("book_id"))
    if filters.author_id:
        books = books.filter(id__in=BookAuthor.objects.filter(author_id=filters.author_id)
                             .values("book_id"))
    if filters.language:
        books = books.filter(language=filters.language)
    if filters.access_model:
        books = books.filter(access_model=filters.access_model)
    if filters.price_min_xof is not None:
        books = books.filter(price_xof__gte=filters.price_min_xof)
    if filters.price_max_xof is not None:
        books = books.filter(Q(price_xof__lte=filters.price_max_xof) | Q(price_xof__isnull=True))
    if filters.has_files:
        books = books.filter(id__in=Format.objects.values("edition__book_id"))
    return books


# --- reads -----------------------------------------------------------------------------------
def book_page(*, filters: BookFilters, sort: str = "popularity", cursor: str | None = None,
              limit: int = 20, lang: str = "en") -> BookPage:
    """One page of published books, in a stable order (keyset: inserts never shift a page)."""
    field_name, descending = SORT_KEYS[sort]
    books = _filtered(filters)
    if sort == "title":
        books = books.annotate(title_shown=title_shown(lang if lang in TITLE_LANGUAGES else "en"))
    if cursor:
        value, book_id = cursor_decode(cursor=cursor, sort=sort)
        books = books.filter(_after(sort, value, book_id))
    order = (f"-{field_name}" if descending else field_name, "id")
    rows = list(with_cards(books.order_by(*order))[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = cursor_encode(sort=sort, value=getattr(last, field_name), book_id=last.id)
    return BookPage(items=[book_card(b, lang=lang) for b in rows], next_cursor=next_cursor, limit=limit, sort=sort)


def book_languages(*, filters: BookFilters | None = None) -> list[str]:
    """The languages of the published books (those ``filters`` keep), most books first."""
    rows = (_filtered(filters or BookFilters()).values("language").annotate(books=Count("id"))
            .order_by("-books", "language"))
    return [row["language"] for row in rows]


def starter_books_without_files() -> list[contracts.BookSummary]:
    """The demo (starter catalogue) books that have no file yet, for the demo files."""
    books = with_cards(Book.objects.filter(external_ids__has_key="coko-starter")
                       .exclude(id__in=Format.objects.values("edition__book_id")).order_by("title"))
    return [contracts.BookSummary(id=str(b.id), title=b.title, language=b.language, access_model=b.access_model,
                                  authors=tuple(c.author.name for c in b.credits.all()), description=b.description)
            for b in books]


def books_owned(*, owner_id, lang: str = "en", limit: int = 100) -> list[dict]:
    """Every book (any status) an author manages, newest first."""
    books = with_everything(Book.objects.filter(owner_id=owner_id).order_by("-created_at", "id"))
    return [book_full(b, lang=lang) for b in books[:limit]]


def books_by_ids(*, book_ids, lang: str = "en") -> list[dict]:
    """Published books as cards, in the order of ``book_ids`` (unknown ids are skipped)."""
    found = {str(b.id): b for b in with_cards(Book.objects.filter(id__in=list(book_ids),
                                                                               status="published"))}
    return [book_card(found[str(i)], lang=lang) for i in book_ids if str(i) in found]


def book_search(*, query: str, filters: BookFilters, limit: int = 20, cursor: str | None = None,
                offset: int = 0, lang: str = "en") -> BookPage:
    """Published books matching ``query``, best first, with facet counts. Pages go on with
    ``cursor`` (the previous page's ``next_cursor``) or an ``offset``."""
    if cursor:
        offset, _ = cursor_decode(cursor=cursor, sort="relevance")
        if type(offset) is not int or not 0 <= offset <= MAX_SEARCH_OFFSET:
            raise errors.INVALID_CURSOR(cursor=cursor)
    wanted = {k: v for k, v in filters.__dict__.items() if k != "has_files"}  # search results: all books
    result = search.books_search(query=query, filters=search.SearchFilters(**wanted),
                                 limit=limit, offset=offset, lang=lang)
    items = books_by_ids(book_ids=[h.book_id for h in result.hits], lang=lang)
    more = offset + limit < min(result.total, MAX_SEARCH_OFFSET + 1)
    next_cursor = cursor_encode(sort="relevance", value=offset + limit, book_id="") if more else None
    return BookPage(items=items, next_cursor=next_cursor, limit=limit,
                    sort="relevance", facets=result.facets, total=result.total)
