"""Catalog reads: pages of books, one book, authors, the category tree, search.

Results are plain dicts in the API's shape (the HTTP edge and the OPDS feeds render
them; the hot ones are cached as JSON by ``coko.domains.catalog.cache``). Readers see
published books only; ``book_for_editor`` is the one read of drafts.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import Prefetch, Q

from . import contracts, errors, search
from .models import Author, Book, BookAuthor, Category, Edition, Format

DB = "catalog"

#: keyset pagination: (sort field, descending?) — ties broken by id ascending
SORT_KEYS = {
    "popularity": ("popularity", True),
    "newest": ("published_at", True),
    "rating": ("rating_average", True),
    "title": ("title", False),
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


# --- representation --------------------------------------------------------------------------
def _text(book: Book, field_name: str, lang: str) -> str:
    translated = (book.translations or {}).get(lang, {})
    return translated.get(field_name) or getattr(book, field_name)


def _category_name(category: Category, lang: str) -> str:
    return (category.translations or {}).get(lang) or category.name


def _price(book: Book) -> dict | None:
    if book.access_model != "sale":
        return None
    return {"amount": book.price_amount, "currency": book.price_currency}


def _iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat()


def book_card(book: Book, *, lang: str) -> dict:
    """A book as lists show it: enough to draw a card, nothing more (slow networks)."""
    return {
        "id": str(book.id),
        "title": _text(book, "title", lang),
        "authors": [{"id": str(c.author_id), "name": c.author.name, "role": c.role} for c in book.credits.all()],
        "language": book.language,
        "access_model": book.access_model,
        "price": _price(book),
        "rating": {"average": float(book.rating_average), "count": book.rating_count},
        "popularity": book.popularity,
        "cover": book.cover_urls or None,
        "publication_year": book.publication_year,
        "published_at": _iso(book.published_at),
    }


def book_full(book: Book, *, lang: str) -> dict:
    """A book as its page shows it."""
    card = book_card(book, lang=lang)
    editions = []
    for edition in book.editions.all():
        editions.append({
            "id": str(edition.id),
            "isbn13": edition.isbn13,
            "publisher": edition.publisher.name if edition.publisher_id else None,
            "publication_date": _iso(edition.publication_date),
            "label": edition.label,
            "formats": [{"kind": f.kind, "media_type": f.media_type, "size": f.size} for f in edition.formats.all()],
        })
    card.update({
        "subtitle": _text(book, "subtitle", lang),
        "description": _text(book, "description", lang),
        "translations": sorted((book.translations or {}).keys()),
        "categories": [{"id": str(c.id), "slug": c.slug, "name": _category_name(c, lang), "path": c.path}
                       for c in book.categories.all()],
        "publisher": book.publisher.name if book.publisher_id else None,
        "series": ({"id": str(book.series_id), "name": book.series.name,
                    "position": float(book.series_position) if book.series_position is not None else None}
                   if book.series_id else None),
        "publication_date": _iso(book.publication_date),
        "editions": editions,
        "formats": sorted({f["kind"] for e in editions for f in e["formats"]}),
        "status": book.status,
        "version": book.version,
        "updated_at": _iso(book.updated_at),
    })
    return card


def _with_cards(queryset):
    credits = BookAuthor.objects.using(DB).select_related("author").order_by("position")
    return queryset.prefetch_related(Prefetch("credits", queryset=credits))


def _with_everything(queryset):
    formats = Format.objects.using(DB).order_by("kind")
    editions = Edition.objects.using(DB).select_related("publisher").prefetch_related(
        Prefetch("formats", queryset=formats)).order_by("created_at")
    return _with_cards(queryset).select_related("publisher", "series").prefetch_related(
        "categories", Prefetch("editions", queryset=editions))


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


# --- filters ---------------------------------------------------------------------------------
def category_ids_under(*, slug: str) -> list:
    """The ids of a category and of all its descendants (empty if there is no such slug)."""
    root = Category.objects.using(DB).filter(slug=slug).values_list("path", flat=True).first()
    if root is None:
        return []
    return list(Category.objects.using(DB).filter(Q(path=root) | Q(path__startswith=root + "/"))
                .values_list("id", flat=True))


def _filtered(filters: BookFilters):
    books = Book.objects.using(DB).filter(status="published")
    if filters.category:
        ids = category_ids_under(slug=filters.category)
        books = books.filter(id__in=Book.categories.through.objects.using(DB)
                             .filter(category_id__in=ids).values("book_id"))
    if filters.author_id:
        books = books.filter(id__in=BookAuthor.objects.using(DB).filter(author_id=filters.author_id)
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
        books = books.filter(id__in=Format.objects.using(DB).values("edition__book_id"))
    return books


# --- reads -----------------------------------------------------------------------------------
def book_page(*, filters: BookFilters, sort: str = "popularity", cursor: str | None = None,
              limit: int = 20, lang: str = "en") -> BookPage:
    """One page of published books, in a stable order (keyset: inserts never shift a page)."""
    field_name, descending = SORT_KEYS[sort]
    books = _filtered(filters)
    if cursor:
        value, book_id = cursor_decode(cursor=cursor, sort=sort)
        books = books.filter(_after(sort, value, book_id))
    order = (f"-{field_name}" if descending else field_name, "id")
    rows = list(_with_cards(books.order_by(*order))[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = cursor_encode(sort=sort, value=getattr(last, field_name), book_id=last.id)
    return BookPage(items=[book_card(b, lang=lang) for b in rows], next_cursor=next_cursor, limit=limit, sort=sort)


_DETAIL_SQL = """
SELECT b.id, b.title, b.subtitle, b.description, b.translations, b.language, b.status, b.access_model,
       b.price_amount, b.price_currency, b.rating_average, b.rating_count, b.popularity, b.cover_urls,
       b.publication_year, b.publication_date, b.published_at, b.updated_at, b.version, b.series_position,
       p.name, s.id, s.name,
       (SELECT coalesce(json_agg(json_build_object('id', a.id, 'name', a.name, 'role', ba.role)
                                 ORDER BY ba.position, ba.id), '[]')
          FROM catalog_bookauthor ba JOIN catalog_author a ON a.id = ba.author_id WHERE ba.book_id = b.id),
       (SELECT coalesce(json_agg(json_build_object('id', c.id, 'slug', c.slug, 'name', c.name,
                                                   'translations', c.translations, 'path', c.path)
                                 ORDER BY c.path), '[]')
          FROM catalog_book_categories bc JOIN catalog_category c ON c.id = bc.category_id
         WHERE bc.book_id = b.id),
       (SELECT coalesce(json_agg(json_build_object(
                   'id', e.id, 'isbn13', e.isbn13, 'publisher', ep.name, 'publication_date', e.publication_date,
                   'label', e.label,
                   'formats', (SELECT coalesce(json_agg(json_build_object('kind', f.kind, 'media_type', f.media_type,
                                                                          'size', f.size) ORDER BY f.kind), '[]')
                                 FROM catalog_format f WHERE f.edition_id = e.id))
                   ORDER BY e.created_at), '[]')
          FROM catalog_edition e LEFT JOIN catalog_publisher ep ON ep.id = e.publisher_id WHERE e.book_id = b.id)
  FROM catalog_book b
  LEFT JOIN catalog_publisher p ON p.id = b.publisher_id
  LEFT JOIN catalog_series s ON s.id = b.series_id
 WHERE b.id = %s AND b.status = 'published'
"""


def book_detail(*, book_id, lang: str = "en") -> dict | None:
    """A published book, whole; ``None`` if there is none (or it is not published).

    One statement (the reader's hottest uncached read): the same shape as ``book_full``.
    """
    with connections[DB].cursor() as cursor:
        cursor.execute(_DETAIL_SQL, [str(book_id)])
        row = cursor.fetchone()
    if row is None:
        return None
    (id_, title, subtitle, description, translations, language, status, access_model, price_amount,
     price_currency, rating_average, rating_count, popularity, cover_urls, publication_year, publication_date,
     published_at, updated_at, version, series_position, publisher, series_id, series_name, credits,
     categories, editions) = row
    # Django has psycopg hand JSON over as text (its fields decode it): decode it here
    translations, cover_urls, credits, categories, editions = (
        json.loads(v) if isinstance(v, str) else v for v in (translations, cover_urls, credits, categories, editions))
    texts = (translations or {}).get(lang, {})
    return {
        "id": str(id_),
        "title": texts.get("title") or title,
        "authors": [{"id": c["id"], "name": c["name"], "role": c["role"]} for c in credits],
        "language": language,
        "access_model": access_model,
        "price": {"amount": price_amount, "currency": price_currency} if access_model == "sale" else None,
        "rating": {"average": float(rating_average), "count": rating_count},
        "popularity": popularity,
        "cover": cover_urls or None,
        "publication_year": publication_year,
        "published_at": _iso(published_at),
        "subtitle": texts.get("subtitle") or subtitle,
        "description": texts.get("description") or description,
        "translations": sorted((translations or {}).keys()),
        "categories": [{"id": c["id"], "slug": c["slug"], "name": (c["translations"] or {}).get(lang) or c["name"],
                        "path": c["path"]} for c in categories],
        "publisher": publisher,
        "series": ({"id": str(series_id), "name": series_name,
                    "position": float(series_position) if series_position is not None else None}
                   if series_id else None),
        "publication_date": _iso(publication_date),
        "editions": editions,
        "formats": sorted({f["kind"] for e in editions for f in e["formats"]}),
        "status": status,
        "version": version,
        "updated_at": _iso(updated_at),
    }


def book_for_editor(*, book_id, lang: str = "en") -> dict | None:
    """A book in any status, for its owner and staff."""
    book = _with_everything(Book.objects.using(DB).filter(id=book_id)).first()
    return book_full(book, lang=lang) if book else None


def book_owner(*, book_id) -> str | None:
    """The accounts user who manages a book (any status), or ``None``."""
    try:
        owner = Book.objects.using(DB).filter(id=book_id).values_list("owner_id", flat=True).first()
    except ValidationError:  # not a UUID
        return None
    return str(owner) if owner else None


def book_files(*, book_id) -> contracts.BookFiles | None:
    """A book's access model and stored files (any status)."""
    try:
        book = Book.objects.using(DB).filter(id=book_id).first()
    except ValidationError:  # not a UUID
        return None
    if book is None:
        return None
    formats = Format.objects.using(DB).filter(edition__book=book).order_by("kind", "-created_at")
    return contracts.BookFiles(
        book_id=str(book.id), status=book.status, access_model=book.access_model,
        price_amount=book.price_amount, price_currency=book.price_currency,
        owner_id=str(book.owner_id) if book.owner_id else None,
        formats=tuple(contracts.FormatFile(kind=f.kind, file_id=str(f.file_id), media_type=f.media_type,
                                           size=f.size, sha256=f.sha256, koreader_md5=f.koreader_md5)
                      for f in formats),
        cover_file_id=str(book.cover_file_id) if book.cover_file_id else None,
    )


def starter_books_without_files() -> list[contracts.BookSummary]:
    """The demo (starter catalogue) books that have no file yet, for the demo files."""
    books = _with_cards(Book.objects.using(DB).filter(external_ids__has_key="coko-starter")
                        .exclude(id__in=Format.objects.using(DB).values("edition__book_id")).order_by("title"))
    return [contracts.BookSummary(id=str(b.id), title=b.title, language=b.language, access_model=b.access_model,
                                  authors=tuple(c.author.name for c in b.credits.all()), description=b.description)
            for b in books]


def books_owned(*, owner_id, lang: str = "en", limit: int = 100) -> list[dict]:
    """Every book (any status) an author manages, newest first."""
    books = _with_everything(Book.objects.using(DB).filter(owner_id=owner_id).order_by("-created_at", "id"))
    return [book_full(b, lang=lang) for b in books[:limit]]


def books_by_ids(*, book_ids, lang: str = "en") -> list[dict]:
    """Published books as cards, in the order of ``book_ids`` (unknown ids are skipped)."""
    found = {str(b.id): b for b in _with_cards(Book.objects.using(DB).filter(id__in=list(book_ids),
                                                                                status="published"))}
    return [book_card(found[str(i)], lang=lang) for i in book_ids if str(i) in found]


def book_search(*, query: str, filters: BookFilters, limit: int = 20, offset: int = 0,
                lang: str = "en") -> BookPage:
    """Published books matching ``query``, best first, with facet counts."""
    wanted = {k: v for k, v in filters.__dict__.items() if k != "has_files"}  # search results: all books
    result = search.books_search(query=query, filters=search.SearchFilters(**wanted),
                                 limit=limit, offset=offset, lang=lang)
    items = books_by_ids(book_ids=[h.book_id for h in result.hits], lang=lang)
    more = offset + limit < result.total
    return BookPage(items=items, next_cursor=str(offset + limit) if more else None, limit=limit,
                    sort="relevance", facets=result.facets, total=result.total)


def author_page(*, query: str | None = None, cursor: str | None = None, limit: int = 20) -> tuple[list[dict], str | None]:
    """Authors with at least one published book, by name (keyset on sort name)."""
    authors = Author.objects.using(DB).filter(book_count__gt=0)
    if query:
        authors = authors.filter(name__icontains=query)
    if cursor:
        value, author_id = cursor_decode(cursor=cursor, sort="author")
        authors = authors.filter(Q(sort_name__gt=value) | Q(sort_name=value, id__gt=author_id))
    rows = list(authors.order_by("sort_name", "id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = cursor_encode(sort="author", value=rows[-1].sort_name, book_id=rows[-1].id) if more else None
    return [author_card(a) for a in rows], next_cursor


def author_card(author: Author) -> dict:
    return {"id": str(author.id), "name": author.name, "book_count": author.book_count}


def author_detail(*, author_id, lang: str = "en", limit: int = 50) -> dict | None:
    """An author with their published books (most popular first)."""
    author = Author.objects.using(DB).filter(id=author_id).first()
    if author is None:
        return None
    page = book_page(filters=BookFilters(author_id=str(author.id)), sort="popularity", limit=limit, lang=lang)
    return {**author_card(author), "bio": author.bio, "books": page.items, "next_cursor": page.next_cursor}


def category_tree(*, lang: str = "en") -> list[dict]:
    """The category taxonomy as a tree; each node counts its published books, descendants included
    (a book filed under two children of one parent counts once for the parent)."""
    with connections[DB].cursor() as cursor:
        cursor.execute(
            """
            SELECT c.id, count(DISTINCT bc.book_id)
            FROM catalog_category c
            JOIN catalog_category d ON d.path = c.path OR d.path LIKE c.path || '/%%'
            JOIN catalog_book_categories bc ON bc.category_id = d.id
            JOIN catalog_book b ON b.id = bc.book_id AND b.status = 'published'
            GROUP BY c.id
            """
        )
        counts = dict(cursor.fetchall())
    nodes: dict = {}
    roots: list[dict] = []
    for category in Category.objects.using(DB).order_by("depth", "position", "name"):
        node = {"id": str(category.id), "slug": category.slug, "name": _category_name(category, lang),
                "path": category.path, "book_count": counts.get(category.id, 0), "children": []}
        nodes[category.id] = node
        parent = nodes.get(category.parent_id)
        (parent["children"] if parent else roots).append(node)
    return roots


def category_by_slug(*, slug: str, lang: str = "en") -> dict | None:
    category = Category.objects.using(DB).filter(slug=slug).first()
    if category is None:
        return None
    return {"id": str(category.id), "slug": category.slug, "name": _category_name(category, lang),
            "path": category.path}
