"""Lists of books: filtered keyset pages (and their cursors), search results, books by id,
an author's own books, the demo books still without a file."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, F, Q
from django.db.models.expressions import RawSQL

from .. import contracts, errors, search
from ..models import TITLE_LANGUAGES, Book, BookAuthor, Format, title_shown
from .cards import book_full, with_cards, with_everything
from .categories import category_checked, category_ids_sql
from .full import book_json_sql, books_full, card_of, card_shaped, shaped
from .names import author_ids_named, publisher_checked, series_checked

@dataclass(frozen=True)
class SortKey:
    """A keyset sort: the field (or annotation) it orders by, its natural direction, and whether
    the field may be empty (books without a year or an author: listed last, either way)."""

    field: str
    descending: bool
    nullable: bool = False


#: keyset pagination: ties broken by id (ascending in the natural direction, descending reversed)
SORT_KEYS = {
    "popularity": SortKey("popularity", True),
    "newest": SortKey("published_at", True),
    "rating": SortKey("rating_average", True),
    "title": SortKey("title_shown", False),
    "author": SortKey("author_sort", False, nullable=True),  # the first author's sort name (kept on the book)
    "year": SortKey("publication_year", True, nullable=True),  # the first publication's year
    "series": SortKey("series_position", False, nullable=True),  # a series' books, in its order
}


def order_of(sort: str, order: str | None) -> str:
    """``asc`` or ``desc``: ``order`` when given, else the sort's natural direction."""
    return order or ("desc" if SORT_KEYS[sort].descending else "asc")


@dataclass(frozen=True)
class BookFilters:
    category: str | None = None  # slug or path; includes the descendants
    author: str | None = None  # as a reader gives it: an id or a name (checked: 404 if none)
    author_id: str | None = None  # an author the caller knows exists
    publisher_id: str | None = None  # checked: 404 if there is no such publisher
    series_id: str | None = None  # checked
    language: str | None = None
    access_model: str | None = None
    price_min_xof: int | None = None
    price_max_xof: int | None = None
    has_files: bool = False  # only books with at least one format (OPDS entries need one)
    names_checked: bool = False  # the caller found the category, publisher or series named: no check


    def author_ids(self) -> list | None:
        """The authors the books must credit (``author`` resolved), or ``None``: no author filter."""
        ids = [self.author_id] if self.author_id else []
        if self.author:
            ids += author_ids_named(author=self.author)
        return ids or None

    def checked(self) -> None:
        """Raise the 404 of a category, publisher or series that does not exist."""
        if self.names_checked:
            return
        if self.category:
            category_checked(slug=self.category)
        if self.publisher_id:
            publisher_checked(publisher_id=self.publisher_id)
        if self.series_id:
            series_checked(series_id=self.series_id)


@dataclass
class BookPage:
    items: list[dict]  # cards (``full.card_of``)
    next_cursor: str | None
    limit: int
    sort: str
    order: str | None = None
    facets: dict = field(default_factory=dict)
    total: int | None = None
    books: list[dict] = field(default_factory=list)  # the same books whole (``full.shaped``)

#: how deep search results may be paged (the API's ``offset`` bound)
MAX_SEARCH_OFFSET = 10_000


# --- cursors ---------------------------------------------------------------------------------
def _encode(value) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _token(sort: str, order: str | None) -> str:
    """A cursor's sort: the sort's name in its natural direction (the cursors given before
    directions existed stay valid), ``name:order`` reversed."""
    return sort if order is None or order == order_of(sort, None) else f"{sort}:{order}"


def cursor_encode(*, sort: str, value, book_id, order: str | None = None) -> str:
    raw = json.dumps([_token(sort, order), _encode(value), str(book_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(*, cursor: str, sort: str, order: str | None = None) -> tuple[object, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, value, book_id = json.loads(raw)
        if cursor_sort != _token(sort, order):
            raise ValueError("cursor of another sort or direction")
        if sort == "newest" and value is not None:
            value = datetime.fromisoformat(value)
        elif sort in ("rating", "series") and value is not None:
            value = Decimal(value)
        elif sort == "year" and value is not None and type(value) is not int:
            raise ValueError("a year is a whole number")
        return value, str(book_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise errors.INVALID_CURSOR(cursor=cursor) from exc


def _after(key: SortKey, descending: bool, value, book_id: str) -> Q:
    """The books after (``value``, ``book_id``) in the order of ``key``, ``descending`` or not;
    empty values come last either way, ties go by id (descending when the sort is reversed)."""
    id_after = {"id__lt" if descending != key.descending else "id__gt": book_id}
    if value is None:
        return Q(**{f"{key.field}__isnull": True}, **id_after)
    beyond = Q(**{f"{key.field}__lt" if descending else f"{key.field}__gt": value}) | Q(**{key.field: value},
                                                                                        **id_after)
    return beyond | Q(**{f"{key.field}__isnull": True}) if key.nullable else beyond


def _ordering(key: SortKey, descending: bool) -> tuple:
    # nulls_last only on the fields that have empty values: the indexes of the others are plain
    nulls = {"nulls_last": True} if key.nullable else {}
    first = F(key.field).desc(**nulls) if descending else F(key.field).asc(**nulls)
    return first, ("id" if descending == key.descending else "-id")


def _filtered(filters: BookFilters):
    books = Book.objects.filter(status="published")
    if filters.category:  # in the same statement: no query of its own for the category's subtree
        books = books.filter(id__in=Book.categories.through.objects.filter(
            category_id__in=RawSQL(*category_ids_sql(slug=filters.category))).values("book_id"))
    author_ids = filters.author_ids()
    if author_ids:
        books = books.filter(id__in=BookAuthor.objects.filter(author_id__in=author_ids).values("book_id"))
    filters.checked()
    if filters.publisher_id:
        books = books.filter(publisher_id=filters.publisher_id)
    if filters.series_id:
        books = books.filter(series_id=filters.series_id)
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
def book_page(*, filters: BookFilters, sort: str = "popularity", order: str | None = None,
              cursor: str | None = None, limit: int = 20, lang: str = "en", whole: bool = False) -> BookPage:
    """One page of published books, in a stable order (keyset: inserts never shift a page).

    ``order`` (``asc``/``desc``) reverses a sort's natural direction (``order_of``). One
    statement (the page's keys and each book's card, or each book whole with ``whole``:
    ``BookPage.books``; ``full.book_json_sql``), and one more to resolve an author given by
    name or to check a category, publisher or series named."""
    key = SORT_KEYS[sort]
    order = order_of(sort, order)
    descending = order == "desc"
    books = _filtered(filters)
    if sort == "title":
        books = books.annotate(title_shown=title_shown(lang if lang in TITLE_LANGUAGES else "en"))
    if cursor:
        value, book_id = cursor_decode(cursor=cursor, sort=sort, order=order)
        books = books.filter(_after(key, descending, value, book_id))
    rows = list(books.order_by(*_ordering(key, descending))
                .annotate(json=RawSQL(book_json_sql('"catalog_book"."id"', whole=whole), ()))
                .values_list("id", key.field, "json")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last_id, last_value, _ = rows[-1]
        next_cursor = cursor_encode(sort=sort, order=order, value=last_value, book_id=last_id)
    if whole:
        books = [shaped(raw, lang=lang) for _, _, raw in rows]
        cards = [(card_of(b), b["series"]["position"] if b["series"] else None) for b in books]
    else:
        books, cards = [], [card_shaped(raw, lang=lang) for _, _, raw in rows]
    items = [card for card, _ in cards]
    if sort == "series":  # a series' books: each with its number
        for item, (_, position) in zip(items, cards, strict=True):
            item["series_position"] = position
    return BookPage(items=items, next_cursor=next_cursor, limit=limit, sort=sort, order=order, books=books)


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
                                  authors=tuple(c.author.name for c in b.credits.all() if c.role == "author"),
                                  description=b.description)
            for b in books]


def books_owned(*, owner_id, lang: str = "en", limit: int = 100) -> list[dict]:
    """Every book (any status) an author manages, newest first."""
    books = with_everything(Book.objects.filter(owner_id=owner_id).order_by("-created_at", "id"))
    return [book_full(b, lang=lang) for b in books[:limit]]


def books_by_ids(*, book_ids, lang: str = "en") -> list[dict]:
    """Published books as cards, in the order of ``book_ids`` (unknown ids are skipped): one statement."""
    return [card_of(b) for b in books_full(book_ids=book_ids, lang=lang)]


def book_search(*, query: str, filters: BookFilters, limit: int = 20, cursor: str | None = None,
                offset: int = 0, lang: str = "en", whole: bool = False) -> BookPage:
    """Published books matching ``query``, best first, with facet counts. Pages go on with
    ``cursor`` (the previous page's ``next_cursor``) or an ``offset``. Cards, and each book
    whole with ``whole`` (``BookPage.books``)."""
    if cursor:
        offset, _ = cursor_decode(cursor=cursor, sort="relevance")
        if type(offset) is not int or not 0 <= offset <= MAX_SEARCH_OFFSET:
            raise errors.INVALID_CURSOR(cursor=cursor)
    author_ids = filters.author_ids()
    replace(filters, category=None).checked()  # an unknown category finds nothing (no 404)
    wanted = search.SearchFilters(  # search results: all books, with a file or not
        category=filters.category, author_ids=tuple(str(i) for i in author_ids) if author_ids else (),
        publisher_id=filters.publisher_id, series_id=filters.series_id, language=filters.language,
        access_model=filters.access_model, price_min_xof=filters.price_min_xof, price_max_xof=filters.price_max_xof)
    result = search.books_search(query=query, filters=wanted, limit=limit, offset=offset, lang=lang,
                                 row_sql=book_json_sql("page.id", whole=whole))
    # the backend selected each hit's book in its own statement (PostgreSQL), or not
    missing = [h.book_id for h in result.hits if h.row is None]
    if whole:
        fetched = {b["id"]: b for b in books_full(book_ids=missing, lang=lang)} if missing else {}
        books = [shaped(h.row, lang=lang) if h.row is not None else fetched.get(str(h.book_id))
                 for h in result.hits]
        books = [b for b in books if b is not None]
        items = [card_of(b) for b in books]
    else:
        fetched = {b["id"]: card_of(b) for b in books_full(book_ids=missing, lang=lang)} if missing else {}
        books = []
        items = [card_shaped(h.row, lang=lang)[0] if h.row is not None else fetched.get(str(h.book_id))
                 for h in result.hits]
        items = [card for card in items if card is not None]
    more = offset + limit < min(result.total, MAX_SEARCH_OFFSET + 1)
    next_cursor = cursor_encode(sort="relevance", value=offset + limit, book_id="") if more else None
    return BookPage(items=items, next_cursor=next_cursor, limit=limit,
                    sort="relevance", facets=result.facets, total=result.total, books=books)
