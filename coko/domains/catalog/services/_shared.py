"""What the catalog's use cases share: who writes (``Actor``), the book being edited, the
``BookChanged`` payload and its announcement, authors' book counts, cache invalidation.

Everything here runs inside a use case's transaction (none opens its own).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connections
from django.db.models import F

from coko.domains.accounts import api as accounts_api
from coko.platform.events import publish

from .. import cache, contracts, errors
from ..models import Book, BookAuthor, Edition

DB = "catalog"


@dataclass(frozen=True)
class Actor:
    """Who writes: an accounts user, and whether they are staff."""

    user_id: str
    is_staff: bool = False
    can_publish: bool = False

    def may_edit(self, *, owner_id) -> bool:
        """Staff edit every book; an author with publish_books edits the books they own."""
        return self.is_staff or (self.can_publish and owner_id is not None and str(owner_id) == str(self.user_id))

    @classmethod
    def of_user(cls, user_id: str) -> "Actor":
        found = accounts_api.permissions_for(user_id=user_id)
        if found is None:
            return cls(user_id=str(user_id))
        staff = "admin" in found.roles or "*" in found.permissions
        return cls(user_id=str(user_id), is_staff=staff, can_publish=staff or "publish_books" in found.permissions)


def editable(book_id, actor: Actor, *, lock: bool = True) -> Book:
    """The book ``actor`` may change, locked for the transaction; else ``book_not_found`` /
    ``not_your_book``."""
    books = Book.objects.select_for_update() if lock else Book.objects.all()
    book = books.filter(id=book_id).first()
    if book is None:
        raise errors.BOOK_NOT_FOUND(book_id=str(book_id))
    if not actor.may_edit(owner_id=book.owner_id):
        raise errors.NOT_YOUR_BOOK()
    return book


def first_edition(book: Book) -> Edition:
    """The book's first edition, created if it has none (formats and the ISBN hang on it)."""
    return book.editions.order_by("created_at").first() or Edition.objects.create(
        book=book, publisher=book.publisher, publication_date=book.publication_date)


def credited_author_ids(book_id) -> set:
    return set(BookAuthor.objects.filter(book_id=book_id).values_list("author_id", flat=True))


# --- the event ----------------------------------------------------------------------------------
def book_changed_payload(book: Book, *, author_ids, category_ids) -> contracts.BookChanged:
    """The ``BookChanged`` payload of a book, its credited authors and its categories (ids).

    The one place the payload is built: the services and the bulk importers both call it."""
    return contracts.BookChanged(
        book_id=str(book.id), version=book.version, status=book.status, title=book.title,
        language=book.language, access_model=book.access_model,
        author_ids=tuple(str(a) for a in author_ids), category_ids=tuple(str(c) for c in category_ids),
        owner_id=str(book.owner_id) if book.owner_id else None,
        price_amount=book.price_amount, price_currency=book.price_currency,
    )


def announce(book: Book, type_: str) -> None:
    """Write ``type_`` (``book.published`` / ``updated`` / ``withdrawn``) to the outbox."""
    credits = BookAuthor.objects.filter(book=book).order_by("position", "id").values_list("author_id", flat=True)
    publish(producer=DB, type=type_, aggregate_id=book.id, payload=book_changed_payload(
        book, author_ids=list(credits), category_ids=list(book.categories.values_list("id", flat=True))))


# --- derived data -------------------------------------------------------------------------------
def author_counts_refresh(*, author_ids=None, book_ids=None) -> None:
    """Recompute ``Author.book_count`` (published books) in one statement: of ``author_ids``, of
    the authors of ``book_ids``, or (neither given) of every author. Only changed rows are written."""
    where, params = "", []
    if author_ids is not None:
        ids = [str(i) for i in author_ids]
        if not ids:
            return
        where, params = "WHERE a.id = ANY(%s::uuid[])", [ids]
    elif book_ids is not None:
        where = "WHERE a.id IN (SELECT author_id FROM catalog_bookauthor WHERE book_id = ANY(%s::uuid[]))"
        params = [[str(i) for i in book_ids]]
    with connections[DB].cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE catalog_author a SET book_count = n.count
            FROM (SELECT a.id, count(DISTINCT b.id) FILTER (WHERE b.status = 'published') AS count
                  FROM catalog_author a
                  LEFT JOIN catalog_bookauthor ba ON ba.author_id = a.id
                  LEFT JOIN catalog_book b ON b.id = ba.book_id
                  {where}
                  GROUP BY a.id) n
            WHERE n.id = a.id AND a.book_count IS DISTINCT FROM n.count
            """,
            params,
        )
    sorts_and_counts_refresh(author_ids=author_ids, book_ids=book_ids)


#: the first author's sort name of the books selected by ``{where}`` (``b``: the book)
_AUTHOR_SORT_SQL = """
UPDATE catalog_book b SET author_sort = s.name
FROM (SELECT b.id, (SELECT a.sort_name FROM catalog_bookauthor ba JOIN catalog_author a ON a.id = ba.author_id
                     WHERE ba.book_id = b.id AND ba.role = 'author' ORDER BY ba.position, ba.id LIMIT 1) AS name
      FROM catalog_book b {where}) s
WHERE s.id = b.id AND b.author_sort IS DISTINCT FROM s.name
"""
#: the published books of every publisher (series), written where it changed
_COUNT_SQL = """
UPDATE {table} t SET book_count = n.count
FROM (SELECT t.id, count(b.id) AS count FROM {table} t
      LEFT JOIN catalog_book b ON b.{column} = t.id AND b.status = 'published' GROUP BY t.id) n
WHERE n.id = t.id AND t.book_count IS DISTINCT FROM n.count
"""


def sorts_and_counts_refresh(*, author_ids=None, book_ids=None) -> None:
    """The read paths' denormalised keys (``Book.author_sort``; ``Publisher.book_count``,
    ``Series.book_count``) after credits, publisher, series or status changed: the sort keys
    of ``book_ids``' books or of ``author_ids``' (neither given: every book), and every
    publisher's and series' count (one aggregate each; only changed rows are written)."""
    where, params = "", []
    if author_ids is not None:
        where = "WHERE b.id IN (SELECT book_id FROM catalog_bookauthor WHERE author_id = ANY(%s::uuid[]))"
        params = [[str(i) for i in author_ids]]
    elif book_ids is not None:
        where, params = "WHERE b.id = ANY(%s::uuid[])", [[str(i) for i in book_ids]]
    with connections[DB].cursor() as cursor:
        cursor.execute(_AUTHOR_SORT_SQL.format(where=where), params)
        for table, column in (("catalog_publisher", "publisher_id"), ("catalog_series", "series_id")):
            cursor.execute(_COUNT_SQL.format(table=table, column=column))


def after_commit(book: Book | None = None) -> None:
    """Retire the cached reads built from ``book`` (its entries and the pages) or, without a
    book (categories), from the names every book shows: once the transaction commits."""
    if book is not None:
        cache.book_changed(book.id, using=DB)
    else:
        cache.catalog_changed(using=DB)


def touched(book: Book) -> None:
    """A book's files, cover or console edit changed: a new version, announced if published."""
    Book.objects.filter(id=book.id).update(version=F("version") + 1)
    book.refresh_from_db()
    if book.status == "published":
        announce(book, contracts.BOOK_UPDATED)
    after_commit(book)
