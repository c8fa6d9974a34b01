"""The bulk writer of the catalogue imports (the starter catalogue, goodbooks-10k, synthetic books).

Everything here writes published books quickly and idempotently:

* each source names its books with a key in ``Book.external_ids`` (``goodreads``,
  ``coko-starter``, ``synthetic``); a book whose key is already there is skipped, so an
  import run twice (or resumed after a crash) creates no duplicates;
* books, credits, categories and editions are written with ``bulk_create``, in batches of
  ``BATCH`` books, one durable transaction per batch, and each book is announced
  (``book.published``, payload ``contracts.BookChanged``) in its batch's transaction;
* then the search documents are refreshed, the authors' ``book_count`` recomputed in one
  statement, the tables analysed (large imports) and the catalog cache's names and pages
  retired (``cache.catalog_changed``).

The goodbooks-10k data (CC BY-SA 4.0, collected from Goodreads) is *read* from a directory
or downloaded at run time with SHA-1 verification; it is never shipped with Coko.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.db import connections, transaction

from coko.platform.events import publish

from .. import cache, contracts, search, services, values
from ..models import Author, Book, BookAuthor, Category, Edition, Publisher, Series

DB = "catalog"
DATA_DIR = Path(__file__).resolve().parent.parent / "data"
BATCH = 1000

# --- the records an import writes -----------------------------------------------------------------


@dataclass
class BookRecord:
    """One published book to import. ``source``/``key`` identify it (``external_ids[source] = key``)."""

    source: str
    key: str
    title: str
    authors: list[str]  # the authors' names, in order
    language: str
    published_at: datetime
    publication_year: int | None = None
    subtitle: str = ""
    description: str = ""
    translations: dict = field(default_factory=dict)
    series: str | None = None
    series_position: Decimal | None = None
    isbn13: str | None = None
    categories: list[str] = field(default_factory=list)  # slugs
    access_model: str = "free"
    price_amount: int | None = None
    price_currency: str | None = None
    rating_average: Decimal = Decimal("0")
    rating_count: int = 0
    popularity: int = 0  # readers' activity, where a source has some (synthetic books)
    popularity_seed: int = 0  # from the source's own ratings (``popularity_seed``)
    editorial_boost: int = 0  # the editors' weight (the starter catalogue's: data/README.md)
    cover_source_url: str = ""  # an image elsewhere, fetched into storage after the import
    external_ids: dict = field(default_factory=dict)  # besides {source: key}
    contributors: list[tuple[str, str]] = field(default_factory=list)  # (name, role): translators …, after
    publisher: str | None = None

    def credits(self) -> list[tuple[str, str]]:
        """(clean name, role) of everyone credited, the authors first, each once per role."""
        people = [(a, "author") for a in self.authors] + list(self.contributors)
        return list(dict.fromkeys((_clean_name(name), role) for name, role in people if _clean_name(name)))


@dataclass
class ImportResult:
    created: int = 0
    skipped: int = 0  # already imported from this source
    duplicates: int = 0  # the same work (title and first author) is in the catalogue from another source
    seconds: float = 0.0
    event_seconds: float = 0.0  # spent writing book.published to the outbox
    search_seconds: float = 0.0
    book_ids: list = field(default_factory=list)


# --- categories ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CategorySpec:
    slug: str
    name: str
    parent: str | None = None
    translations: dict = field(default_factory=dict, hash=False, compare=False)
    position: int = 0


def taxonomy() -> list[CategorySpec]:
    """Coko's own taxonomy (``data/categories.json``): top-level categories and a few children."""
    raw = json.loads((DATA_DIR / "categories.json").read_text(encoding="utf-8"))
    specs = []
    for position, top in enumerate(raw["categories"]):
        specs.append(CategorySpec(slug=top["slug"], name=top["name"], translations=top.get("translations", {}),
                                  position=position))
        for child_position, child in enumerate(top.get("children", [])):
            specs.append(CategorySpec(slug=child["slug"], name=child["name"], parent=top["slug"],
                                      translations=child.get("translations", {}), position=child_position))
    return specs


def categories_ensure(specs: Iterable[CategorySpec]) -> dict[str, Category]:
    """Create the categories that do not exist yet (by slug; parents before children).

    An existing category is left as it is (staff may have renamed or moved it). Returns every
    category of the tree by slug. Safe to run concurrently: slugs are unique.
    """
    specs = list(specs)
    existing = {c.slug: c for c in Category.objects.all()}
    created = False
    for top_level in (True, False):
        missing, seen = [], set()
        for spec in specs:
            if spec.slug in existing or spec.slug in seen or (spec.parent is None) != top_level:
                continue
            parent = existing.get(spec.parent) if spec.parent else None
            if spec.parent and parent is None:
                continue
            path = f"{parent.path}/{spec.slug}" if parent else spec.slug
            seen.add(spec.slug)
            missing.append(Category(slug=spec.slug, name=spec.name[:120], parent=parent,
                                    translations=spec.translations or {}, path=path,
                                    depth=path.count("/"), position=spec.position))
        if missing:
            Category.objects.bulk_create(missing, batch_size=500, ignore_conflicts=True)
            existing = {c.slug: c for c in Category.objects.all()}
            created = True
    if created:
        cache.catalog_changed(using=DB)  # new categories: names every book may show
    return existing


# --- the bulk writer ------------------------------------------------------------------------------


def existing_keys(source: str) -> set[str]:
    """The keys of ``source`` already in the catalogue (any status)."""
    return {str(k) for k in Book.objects.filter(external_ids__has_key=source)
            .values_list(f"external_ids__{source}", flat=True)}


_clean_name = values.clean_name


def _named_ids(model, names: set[str], **defaults_for) -> dict[str, object]:
    """``{name: id}`` of ``model`` rows (unique ``name``), creating the missing ones."""
    if not names:
        return {}
    found: dict[str, object] = {}
    wanted = list(names)
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start:start + 5000]
        found.update(model.objects.filter(name__in=chunk).values_list("name", "id"))
    missing = [n for n in wanted if n not in found]
    if missing:
        model.objects.bulk_create([model(name=n, **{k: f(n) for k, f in defaults_for.items()})
                                             for n in missing], batch_size=2000, ignore_conflicts=True)
        for start in range(0, len(missing), 5000):
            found.update(model.objects.filter(name__in=missing[start:start + 5000])
                         .values_list("name", "id"))
    return found


def _copy(model, objects: list) -> None:
    """Insert model instances with COPY (10–20× faster than a multi-row INSERT for thousands of
    rows). Values go through each field's own preparation (defaults, ``auto_now``, JSON), as
    ``bulk_create`` does; auto-increment keys are left to the database."""
    if not objects:
        return
    connection = connections[DB]
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and f.get_internal_type().endswith(
        "AutoField"))]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for obj in objects:
                copy.write_row([f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields])


def _price_xof(record: BookRecord) -> int | None:
    if record.access_model != "sale":
        return None
    return values.price_in_xof(amount=record.price_amount, currency=record.price_currency)


def _write_batch(records: list[BookRecord], categories: dict[str, Category], *, events: bool,
                 result: ImportResult) -> None:
    with transaction.atomic(using=DB, durable=True):
        author_ids = _named_ids(Author, {name for r in records for name, _role in r.credits()},
                                sort_name=values.sort_name)
        series_ids = _named_ids(Series, {_clean_name(r.series) for r in records if r.series and _clean_name(r.series)})
        publisher_ids = _named_ids(Publisher, {_clean_name(r.publisher) for r in records
                                               if r.publisher and _clean_name(r.publisher)})
        taken_isbns = set(Edition.objects.filter(
            isbn13__in=[r.isbn13 for r in records if r.isbn13]).values_list("isbn13", flat=True))
        books, credits, links, editions, announced = [], [], [], [], []
        through = Book.categories.through
        for record in records:
            book = Book(
                title=record.title[:300], subtitle=record.subtitle[:300], description=record.description,
                translations=record.translations, language=record.language, status="published",
                access_model=record.access_model, price_amount=record.price_amount,
                price_currency=record.price_currency, price_xof=_price_xof(record),
                publication_year=record.publication_year,
                series_id=series_ids.get(_clean_name(record.series)) if record.series else None,
                series_position=record.series_position if record.series else None,
                publisher_id=publisher_ids.get(_clean_name(record.publisher)) if record.publisher else None,
                cover_source_url=record.cover_source_url[:1000], rating_average=record.rating_average,
                rating_count=record.rating_count, popularity_seed=record.popularity_seed,
                editorial_boost=record.editorial_boost,
                popularity=record.popularity + record.popularity_seed + record.editorial_boost,
                external_ids={**record.external_ids, record.source: record.key},
                published_at=record.published_at,
            )
            books.append(book)
            people = record.credits()
            book_authors = list(dict.fromkeys(author_ids[name] for name, _role in people))
            credits.extend(BookAuthor(book_id=book.id, author_id=author_ids[name], role=role, position=i)
                           for i, (name, role) in enumerate(people))
            book_categories = [categories[s].id for s in dict.fromkeys(record.categories) if s in categories]
            links.extend(through(book_id=book.id, category_id=c) for c in book_categories)
            if record.isbn13 and record.isbn13 not in taken_isbns:
                taken_isbns.add(record.isbn13)
                editions.append(Edition(book_id=book.id, isbn13=record.isbn13, publisher_id=book.publisher_id))
            announced.append((book, book_authors, book_categories))
        _copy(Book, books)
        _copy(BookAuthor, credits)
        _copy(through, links)
        _copy(Edition, editions)
        if events:
            began = time.perf_counter()
            # One outbox INSERT per book; psycopg's pipeline mode sends them without waiting for
            # each answer (an error still fails the batch, at the end of the block).
            with connections[DB].connection.pipeline():
                for book, book_authors, book_categories in announced:
                    publish(producer=DB, type=contracts.BOOK_PUBLISHED, aggregate_id=book.id,
                            payload=services.book_changed_payload(book, author_ids=book_authors,
                                                                  category_ids=book_categories))
            result.event_seconds += time.perf_counter() - began
        # coarse on purpose: an import writes thousands of books, their authors, categories
        # and publishers at once; one bump of the names and pages retires what they touch
        cache.catalog_changed(using=DB)
    result.created += len(books)
    result.book_ids.extend(b.id for b in books)


def _search_refresh(book_ids: list, result: ImportResult) -> None:
    """Search documents of the new books: the whole table at once when the search module offers
    it and the import is most of the catalogue, else by ids in chunks."""
    if not book_ids:
        return
    began = time.perf_counter()
    refresh_all = getattr(search, "documents_refresh_all", None)
    total = Book.objects.count()
    if refresh_all is not None and len(book_ids) * 2 >= total:
        refresh_all()
    else:
        for start in range(0, len(book_ids), 2000):
            with transaction.atomic(using=DB):
                search.documents_refresh(book_ids=book_ids[start:start + 2000])
    result.search_seconds += time.perf_counter() - began


def _work_key(title: str, author: str) -> tuple[str, str]:
    """Title and first author, case, accents, spaces and punctuation aside."""
    def plain(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
        return "".join(c for c in decomposed if c.isalnum())
    return plain(title), plain(author)


def existing_works() -> set[tuple[str, str]]:
    """Work keys of the books in the catalogue (under their title and every translated title)."""
    firsts = dict(BookAuthor.objects.filter(position=0).values_list("book_id", "author__name"))
    works = set()
    for book_id, title, translations in Book.objects.values_list("id", "title", "translations"):
        author = firsts.get(book_id, "")
        for text in [title, *((t or {}).get("title") for t in (translations or {}).values())]:
            if text:
                works.add(_work_key(text, author))
    return works


def books_import(records: Iterable[BookRecord], *, source: str, categories: dict[str, Category] | None = None,
                 events: bool = True, batch_size: int = BATCH, skip_same_work: bool = False,
                 progress: Callable[[ImportResult], None] | None = None) -> ImportResult:
    """Write the records whose key is not in the catalogue yet; see the module docstring.

    ``skip_same_work``: also skip a record whose title and first author are those of a book
    already in the catalogue from another source (the starter's "Things Fall Apart" and
    goodbooks' are one book to a reader).
    """
    began = time.perf_counter()
    result = ImportResult()
    known = existing_keys(source)
    works = existing_works() if skip_same_work else set()
    if categories is None:
        categories = {c.slug: c for c in Category.objects.all()}
    batch: list[BookRecord] = []
    for record in records:
        if record.key in known:
            result.skipped += 1
            continue
        if works and _work_key(record.title, record.authors[0] if record.authors else "") in works:
            result.duplicates += 1
            continue
        known.add(record.key)
        batch.append(record)
        if len(batch) >= batch_size:
            _write_batch(batch, categories, events=events, result=result)
            batch = []
            if progress:
                progress(result)
    if batch:
        _write_batch(batch, categories, events=events, result=result)
        if progress:
            progress(result)
    if result.created:
        _search_refresh(result.book_ids, result)
        services.author_counts_refresh(book_ids=result.book_ids)
        if result.created >= 1000:  # fresh planner statistics after a bulk load (autovacuum is slower)
            with connections[DB].cursor() as cursor:
                cursor.execute("ANALYZE catalog_book, catalog_bookauthor, catalog_book_categories, catalog_author,"
                               " catalog_edition, catalog_category")
        cache.catalog_changed()
    result.seconds = time.perf_counter() - began
    return result


#: the number of ratings whose seed is 1000 points (the most-rated book of goodbooks has 4.8 million)
SEED_FULL_SCALE_RATINGS = 5_000_000


def popularity_seed(ratings_count: int) -> int:
    """The popularity a book starts with from ``ratings_count`` ratings collected elsewhere:
    log-scaled, 1000 points at ``SEED_FULL_SCALE_RATINGS`` (1,000 ratings: 448; 100,000: 750),
    so millions of ratings weigh a few times, not thousands of times, what readers here do."""
    if ratings_count <= 0:
        return 0
    return round(1000 * math.log1p(ratings_count) / math.log1p(SEED_FULL_SCALE_RATINGS))


def _hash(*parts) -> int:
    """A stable 64-bit number of ``parts`` (Python's ``hash`` is salted per process)."""
    return int.from_bytes(hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest(), "big")


def synthetic_access(seed: str) -> tuple[str, int | None, str | None]:
    """A deterministic, SYNTHETIC access model for imported books that have none: 60 % free,
    25 % subscription, 15 % for sale at 1,500–5,000 XOF in steps of 500."""
    h = _hash("access", seed)
    bucket = h % 100
    if bucket < 60:
        return "free", None, None
    if bucket < 85:
        return "subscription", None, None
    return "sale", 1500 + (h // 100 % 8) * 500, "XOF"


def synthetic_published_at(seed: str, *, epoch: datetime = datetime(2025, 1, 1, tzinfo=UTC),
                           days: int = 730) -> datetime:
    """A deterministic publication time on Coko within ``days`` before ``epoch`` (imports have none)."""
    return epoch - timedelta(seconds=_hash("published", seed) % (days * 86400))


