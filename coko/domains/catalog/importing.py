"""Bulk imports into the catalogue: the starter catalogue, goodbooks-10k, synthetic books.

Everything here writes published books quickly and idempotently:

* each source names its books with a key in ``Book.external_ids`` (``goodreads``,
  ``coko-starter``, ``synthetic``); a book whose key is already there is skipped, so an
  import run twice (or resumed after a crash) creates no duplicates;
* books, credits, categories and editions are written with ``bulk_create``, in batches of
  ``BATCH`` books, one durable transaction per batch, and each book is announced
  (``book.published``, payload ``contracts.BookChanged``) in its batch's transaction;
* then the search documents are refreshed, the authors' ``book_count`` recomputed in one
  statement, the tables analysed (large imports) and the catalog cache generation bumped.

The goodbooks-10k data (CC BY-SA 4.0, collected from Goodreads) is *read* from a directory
or downloaded at run time with SHA-1 verification; it is never shipped with Coko.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import random
import re
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import combinations
from pathlib import Path

from django.db import connections, transaction
from django.utils.text import slugify

from coko.platform.errors import Unprocessable
from coko.platform.events import publish

from . import cache, contracts, search, services
from .models import Author, Book, BookAuthor, Category, Edition, Series

DB = "catalog"
DATA_DIR = Path(__file__).resolve().parent / "data"
BATCH = 1000

# --- the records an import writes -----------------------------------------------------------------


@dataclass
class BookRecord:
    """One published book to import. ``source``/``key`` identify it (``external_ids[source] = key``)."""

    source: str
    key: str
    title: str
    authors: list[str]
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
    popularity: int = 0
    cover_urls: dict = field(default_factory=dict)
    external_ids: dict = field(default_factory=dict)  # besides {source: key}


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
    existing = {c.slug: c for c in Category.objects.using(DB).all()}
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
            Category.objects.using(DB).bulk_create(missing, batch_size=500, ignore_conflicts=True)
            existing = {c.slug: c for c in Category.objects.using(DB).all()}
            created = True
    if created:
        transaction.on_commit(cache.catalog_changed, using=DB)
    return existing


# --- the bulk writer ------------------------------------------------------------------------------


def existing_keys(source: str) -> set[str]:
    """The keys of ``source`` already in the catalogue (any status)."""
    return {str(k) for k in Book.objects.using(DB).filter(external_ids__has_key=source)
            .values_list(f"external_ids__{source}", flat=True)}


def _clean_name(name: str) -> str:
    return " ".join((name or "").split())[:200]


def _named_ids(model, names: set[str], **defaults_for) -> dict[str, object]:
    """``{name: id}`` of ``model`` rows (unique ``name``), creating the missing ones."""
    if not names:
        return {}
    found: dict[str, object] = {}
    wanted = list(names)
    for start in range(0, len(wanted), 5000):
        chunk = wanted[start:start + 5000]
        found.update(model.objects.using(DB).filter(name__in=chunk).values_list("name", "id"))
    missing = [n for n in wanted if n not in found]
    if missing:
        model.objects.using(DB).bulk_create([model(name=n, **{k: f(n) for k, f in defaults_for.items()})
                                             for n in missing], batch_size=2000, ignore_conflicts=True)
        for start in range(0, len(missing), 5000):
            found.update(model.objects.using(DB).filter(name__in=missing[start:start + 5000])
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
    return services.price_in_xof(amount=record.price_amount, currency=record.price_currency)


def _write_batch(records: list[BookRecord], categories: dict[str, Category], *, events: bool,
                 result: ImportResult) -> None:
    with transaction.atomic(using=DB, durable=True):
        author_ids = _named_ids(Author, {_clean_name(a) for r in records for a in r.authors if _clean_name(a)},
                                sort_name=services._sort_name)
        series_ids = _named_ids(Series, {_clean_name(r.series) for r in records if r.series and _clean_name(r.series)})
        taken_isbns = set(Edition.objects.using(DB).filter(
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
                cover_urls=record.cover_urls, rating_average=record.rating_average,
                rating_count=record.rating_count, popularity=record.popularity,
                external_ids={**record.external_ids, record.source: record.key},
                published_at=record.published_at,
            )
            books.append(book)
            names = list(dict.fromkeys(_clean_name(a) for a in record.authors if _clean_name(a)))
            book_authors = [author_ids[n] for n in names]
            credits.extend(BookAuthor(book_id=book.id, author_id=a, role="author", position=i)
                           for i, a in enumerate(book_authors))
            book_categories = [categories[s].id for s in dict.fromkeys(record.categories) if s in categories]
            links.extend(through(book_id=book.id, category_id=c) for c in book_categories)
            if record.isbn13 and record.isbn13 not in taken_isbns:
                taken_isbns.add(record.isbn13)
                editions.append(Edition(book_id=book.id, isbn13=record.isbn13))
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
                            payload=contracts.BookChanged(
                                book_id=str(book.id), version=book.version, status=book.status,
                                title=book.title, language=book.language, access_model=book.access_model,
                                author_ids=tuple(str(a) for a in book_authors),
                                category_ids=tuple(str(c) for c in book_categories), owner_id=None))
            result.event_seconds += time.perf_counter() - began
        transaction.on_commit(cache.catalog_changed, using=DB)
    result.created += len(books)
    result.book_ids.extend(b.id for b in books)


def _search_refresh(book_ids: list, result: ImportResult) -> None:
    """Search documents of the new books: the whole table at once when the search module offers
    it and the import is most of the catalogue, else by ids in chunks."""
    if not book_ids:
        return
    began = time.perf_counter()
    refresh_all = getattr(search, "documents_refresh_all", None)
    total = Book.objects.using(DB).count()
    if refresh_all is not None and len(book_ids) * 2 >= total:
        refresh_all()
    else:
        for start in range(0, len(book_ids), 2000):
            with transaction.atomic(using=DB):
                search.documents_refresh(book_ids=book_ids[start:start + 2000])
    result.search_seconds += time.perf_counter() - began


def author_counts_refresh(*, book_ids: list | None = None) -> None:
    """Recompute ``Author.book_count`` (published books) in one statement: of the authors of
    ``book_ids``, or of every author."""
    where, params = "", []
    if book_ids is not None:
        where = ("WHERE a.id IN (SELECT author_id FROM catalog_bookauthor WHERE book_id = ANY(%s::uuid[]))")
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


def _work_key(title: str, author: str) -> tuple[str, str]:
    """Title and first author, case, accents, spaces and punctuation aside."""
    def plain(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", (text or "").casefold())
        return "".join(c for c in decomposed if c.isalnum())
    return plain(title), plain(author)


def existing_works() -> set[tuple[str, str]]:
    """Work keys of the books in the catalogue (under their title and every translated title)."""
    firsts = dict(BookAuthor.objects.using(DB).filter(position=0).values_list("book_id", "author__name"))
    works = set()
    for book_id, title, translations in Book.objects.using(DB).values_list("id", "title", "translations"):
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
        categories = {c.slug: c for c in Category.objects.using(DB).all()}
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
        author_counts_refresh(book_ids=result.book_ids)
        if result.created >= 1000:  # fresh planner statistics after a bulk load (autovacuum is slower)
            with connections[DB].cursor() as cursor:
                cursor.execute("ANALYZE catalog_book, catalog_bookauthor, catalog_book_categories, catalog_author,"
                               " catalog_edition, catalog_category")
        cache.catalog_changed()
    result.seconds = time.perf_counter() - began
    return result


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


# --- the starter catalogue ------------------------------------------------------------------------
STARTER = "coko-starter"


def starter_records() -> list[BookRecord]:
    """Coko's own starter catalogue (``data/starter_books.json``)."""
    raw = json.loads((DATA_DIR / "starter_books.json").read_text(encoding="utf-8"))
    records = []
    for entry in raw["books"]:
        language = services.language_normalise(entry["language"])
        descriptions = entry.get("description", {})
        titles = entry.get("titles", {})
        translations = {}
        for lang in ("en", "fr"):
            if lang == language:
                continue
            texts = {k: v for k, v in {"title": titles.get(lang), "description": descriptions.get(lang)}.items() if v}
            if texts:
                translations[lang] = texts
        access = entry.get("access", {"model": "free"})
        position = entry.get("series_position")
        records.append(BookRecord(
            source=STARTER, key=entry["key"], title=entry["title"], authors=entry["authors"], language=language,
            publication_year=entry.get("year"), description=descriptions.get(language) or descriptions.get("en", ""),
            translations=translations, series=entry.get("series"),
            series_position=Decimal(str(position)) if position is not None else None,
            categories=entry.get("categories", []), access_model=access["model"],
            price_amount=access.get("price"), price_currency=access.get("currency"),
            published_at=synthetic_published_at(entry["key"], days=90),
        ))
    return records


def starter_load(*, events: bool = True) -> ImportResult:
    """Load the starter catalogue (the missing books of it); idempotent."""
    with transaction.atomic(using=DB, durable=True):
        categories = categories_ensure(taxonomy())
    return books_import(starter_records(), source=STARTER, categories=categories, events=events)


# --- goodbooks-10k --------------------------------------------------------------------------------
GOODREADS = "goodreads"
GOODBOOKS_ATTRIBUTION = "goodbooks-10k, Zygmunt Zając, https://github.com/zygmuntz/goodbooks-10k (CC BY-SA 4.0)"
#: the canonical upstream files, pinned to a commit and checked by SHA-1 after download
GOODBOOKS_FILES = {
    "books.csv": ("https://raw.githubusercontent.com/zygmuntz/goodbooks-10k/"
                  "6dd165b555a7b47b2dd36743a425776e641ff50c/books.csv",
                  "a4d78ef2e01532fa5751629f0fcbb2c1432b5ad1"),
    "book_genres.csv": ("https://raw.githubusercontent.com/Pradyumna-Chacham/goodbooks-recommender/"
                        "7656743c1cd8085c4334c61016ba1b460970a7b2/data/book_genres.csv",
                        "024fd4ce890f9a4155772883b521b11232c8ab72"),
}
GENRE_FILES = ("book_genres.csv", "book_metadata.csv")  # either has book_id and genres
NOPHOTO = "/nophoto/"
RELEVANT_CATEGORIES = 5


class GoodbooksError(Exception):
    """The goodbooks files are missing, unreadable or not the pinned ones."""


def _sha1(path: Path) -> str:
    digest = hashlib.sha1()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def goodbooks_download(*, dest: Path, base_url: str | None = None, timeout: float = 60.0,
                       say: Callable[[str], None] = lambda _m: None) -> Path:
    """Fetch books.csv and book_genres.csv into ``dest``, each verified against its pinned SHA-1.

    ``base_url`` replaces the upstream locations (``{base_url}/books.csv`` …): a mirror, or a
    loopback server in the tests. Files already in ``dest`` with the right checksum are kept.
    Nothing is left in ``dest`` unless both files check out.
    """
    import httpx

    dest.mkdir(parents=True, exist_ok=True)
    fetched: list[tuple[Path, Path]] = []
    try:
        for name, (url, sha1) in GOODBOOKS_FILES.items():
            target = dest / name
            if target.exists() and _sha1(target) == sha1:
                say(f"{name}: already downloaded (SHA-1 {sha1[:8]}…)")
                continue
            if base_url:
                url = f"{base_url.rstrip('/')}/{name}"
            part = dest / f".{name}.part"
            say(f"{name}: downloading {url}")
            digest = hashlib.sha1()
            with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
                if response.status_code != 200:
                    raise GoodbooksError(f"{url} answered HTTP {response.status_code}")
                with part.open("wb") as handle:
                    for chunk in response.iter_bytes(1 << 16):
                        digest.update(chunk)
                        handle.write(chunk)
            if digest.hexdigest() != sha1:
                part.unlink(missing_ok=True)
                raise GoodbooksError(f"{name} from {url} has SHA-1 {digest.hexdigest()}, expected {sha1}: "
                                     f"refused, nothing loaded")
            fetched.append((part, target))
        for part, target in fetched:
            part.replace(target)
    except httpx.HTTPError as exc:
        raise GoodbooksError(f"download failed: {exc}") from exc
    finally:
        for part, _target in fetched:
            part.unlink(missing_ok=True)
    return dest


def _read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def goodbooks_files(source: Path) -> tuple[Path, Path | None]:
    """books.csv and the genres file (book_genres.csv or book_metadata.csv) of a directory."""
    books = source / "books.csv"
    if not books.is_file():
        raise GoodbooksError(f"no books.csv in {source}")
    genres = next((source / n for n in GENRE_FILES if (source / n).is_file()), None)
    return books, genres


# Goodreads tags -> Coko categories. A tag is cut into tokens, spelling variants merged
# ("sci-fi", "scifi", "science-fiction" -> scifi), shelf words dropped ("to-read", "owned",
# "favorite" …); tags with the same tokens are one category. Its top-level category is the
# first rule below whose tokens it contains; everything else is fiction.
_PHRASES = [
    ("science-fiction", "scifi"), ("sci-fi", "scifi"), ("non-fiction", "nonfiction"), ("young-adults", "ya"),
    ("young-adult", "ya"), ("children-s", "children"), ("women-s", "womens"), ("auto-biography", "autobiography"),
    ("world-war-ii", "ww2"), ("world-war-2", "ww2"), ("world-war-two", "ww2"), ("world-war-ll", "ww2"),
    ("u-s-history", "us-history"), ("middle-grades", "middlegrade"), ("middle-grade", "middlegrade"),
    ("chick-lit", "chicklit"), ("true-crime", "truecrime"), ("love-story", "lovestory"),
    ("fairy-tales", "fairytales"), ("graphic-novels", "graphicnovels"), ("graphic-novel", "graphicnovels"),
    ("comic-books", "comics"), ("new-adult", "newadult"), ("self-help", "selfhelp"),
    ("magical-realism", "magicalrealism"), ("magic-realism", "magicalrealism"),
    ("alternate-history", "althistory"), ("alternative-history", "althistory"), ("alt-history", "althistory"),
    ("picture-books", "picturebooks"), ("chapter-books", "chapterbooks"), ("ghost-stories", "ghosts"),
    ("dungeons-and-dragons", "dnd"), ("detective-stories", "detective"), ("historical-fiction", "historical"),
]
_TOKENS = {
    "childrens": "children", "childrensbooks": "children", "kids": "children", "mysteries": "mystery",
    "thrillers": "thriller", "memoirs": "memoir", "biographies": "biography", "bios": "biography",
    "bio": "biography", "romances": "romance", "mangas": "manga", "comic": "comics", "detectives": "detective",
    "teens": "ya", "teen": "ya", "teenlit": "ya", "sciencefiction": "scifi", "sf": "scifi", "historic": "historical",
    "historicals": "historical", "historicalfiction": "historical", "fic": "fiction", "ghost": "ghosts",
    "witch": "witches", "witchcraft": "witches", "dragon": "dragons", "wars": "war", "warfare": "war",
    "humour": "humor", "royals": "royalty", "shojo": "shoujo", "christianfiction": "christian",
    "contemp": "contemporary", "awards": "award", "classic": "classics", "classical": "classics",
    "lit": "literature", "na": "newadult", "thriler": "thriller",
}
_NOISE = {"read", "to", "own", "owned", "i", "ve", "favorite", "favourite", "favorites", "my", "good", "genre",
          "02", "04", "the", "a", "and", "other", "general", "for", "collection", "series", "books", "book",
          "novels", "novel", "stories", "winners", "winner", "winning", "punya", ""}
_DISPLAY_NOISE = {"read", "to", "own", "owned", "i", "ve", "favorite", "favourite", "my", "good", "genre", "02",
                  "04", "the", "other", "general", "a", "punya"}
_SKIP_TAGS = {"vaginal-fantasy"}  # a book club's shelf, not a genre

_TOP_RULES: list[tuple[str, list[frozenset]]] = [
    (top, [frozenset(k.split("+")) for k in keys]) for top, keys in [
        ("non-fiction", ["truecrime"]),
        ("history", ["historical+nonfiction"]),
        ("fiction", ["althistory", "magicalrealism"]),
        ("comics", ["manga", "comics", "graphicnovels", "manhwa", "manhua", "superhero", "dc", "vertigo", "shoujo",
                    "shonen", "anime"]),
        ("children", ["children", "middlegrade", "juvenile", "j", "junior", "newbery", "caldecott", "picturebooks",
                      "chapterbooks", "childhood", "youth"]),
        ("young-adult", ["ya", "printz"]),
        ("poetry", ["poetry", "poems", "plays", "drama"]),
        ("biography-memoir", ["biography", "memoir", "autobiography"]),
        ("religion-philosophy", ["religion", "religious", "christian", "philosophy", "inspirational", "spirituality",
                                 "theology"]),
        ("romance", ["romance", "lovestory", "chicklit", "erotic", "erotica", "regency", "newadult"]),
        ("horror", ["horror", "ghosts", "creepy", "gothic", "vampire"]),
        ("mystery-thriller", ["mystery", "thriller", "suspense", "crime", "detective", "noir", "spy", "legal", "cozy",
                              "forensic", "murder"]),
        ("fantasy-science-fiction", ["fantasy", "scifi", "speculative", "dystopia", "cyberpunk", "space", "aliens",
                                     "magic", "magical", "wizards", "witches", "dragons", "paranormal",
                                     "supernatural", "mythology", "fairytales", "folklore", "steampunk", "hugo",
                                     "dnd", "warriors"]),
        ("history", ["history", "war", "military", "ww2", "microhistory", "royalty"]),
        ("classics", ["classics", "victorian", "penguin", "19th"]),
        ("non-fiction", ["nonfiction", "psychology", "economics", "politics", "political", "business", "science",
                         "selfhelp", "sociology", "finance", "narrative"]),
    ]
]


def _subsets(*tokens: str) -> list[frozenset]:
    return [frozenset(c) for n in range(1, len(tokens) + 1) for c in combinations(tokens, n)]


#: tags that *are* a top-level category (no child of their own)
_TOP_ITSELF: dict[str, list[frozenset]] = {
    "fiction": [frozenset({"fiction"})],
    "comics": _subsets("comics", "graphicnovels"),
    "children": [frozenset({"children"})],
    "young-adult": [frozenset({"ya"})],
    "poetry": [frozenset({"poetry"}), frozenset({"poetry", "plays"})],
    "biography-memoir": _subsets("biography", "memoir", "autobiography"),
    "religion-philosophy": [frozenset({"religion", "philosophy"})],
    "romance": [frozenset({"romance"})],
    "horror": [frozenset({"horror"})],
    "mystery-thriller": [frozenset({"mystery", "thriller"}), frozenset({"mystery", "thriller", "suspense"}),
                         frozenset({"crime", "mystery", "thriller"}),
                         frozenset({"crime", "mystery", "suspense", "thriller"})],
    "fantasy-science-fiction": [frozenset({"fantasy", "scifi"}), frozenset({"speculative"})],
    "history": [frozenset({"history"})],
    "classics": [frozenset({"classics"})],
    "non-fiction": [frozenset({"nonfiction"})],
}
#: display slugs for a few merged tags whose most common spelling reads badly
_DISPLAY = {frozenset({"historical"}): "historical-fiction", frozenset({"scifi"}): "science-fiction",
            frozenset({"ww2"}): "world-war-ii", frozenset({"children", "picturebooks"}): "picture-books"}


def tag_tokens(tag: str) -> frozenset:
    """The tokens of a Goodreads tag, spelling variants merged and shelf words dropped."""
    text = f"-{tag.strip().lower()}-"
    for phrase, token in _PHRASES:
        text = text.replace(f"-{phrase}-", f"-{token}-")
    tokens = [_TOKENS.get(t, t) for t in text.split("-")]
    tokens = {t for t in tokens if t not in _NOISE}
    if len(tokens) > 1:
        tokens.discard("fiction")
    return frozenset(tokens)


def tag_top(tokens: frozenset) -> str:
    """The top-level category of a tag's tokens (first matching rule; fiction otherwise)."""
    for top, keys in _TOP_RULES:
        if any(key <= tokens for key in keys):
            return top
    return "fiction"


def _display_slug(tag: str) -> str:
    return "-".join(t for t in tag.split("-") if t not in _DISPLAY_NOISE) or tag


def _humanise(slug: str) -> str:
    words = slug.replace("-s-", "'s-").split("-")
    fixes = {"ya": "YA", "dc": "DC", "us": "US", "ii": "II", "sci": "sci", "u": "U"}
    text = " ".join(fixes.get(w, w) for w in words if w)
    return (text[:1].upper() + text[1:])[:120]


@dataclass
class GenreTaxonomy:
    """Goodreads tags as Coko categories: each tag's category slug, and the children to create."""

    tag_category: dict[str, str]  # tag -> category slug (a top-level slug or a child slug)
    children: list[CategorySpec]
    document_frequency: Counter  # category slug -> books carrying it


def genre_taxonomy(genres_by_book: dict[str, list[str]], *, existing: dict[str, Category] | None = None
                   ) -> GenreTaxonomy:
    """Turn the tags of every book into child categories of Coko's top-level categories."""
    existing = existing or {}
    tag_counts = Counter(t for tags in genres_by_book.values() for t in set(tags))
    clusters: dict[tuple[str, frozenset], list[str]] = defaultdict(list)
    tag_cluster: dict[str, tuple[str, frozenset]] = {}
    for tag in tag_counts:
        if tag in _SKIP_TAGS:
            continue
        tokens = tag_tokens(tag)
        if not tokens:
            continue
        top = tag_top(tokens)
        clusters[(top, tokens)].append(tag)
        tag_cluster[tag] = (top, tokens)
    cluster_slug: dict[tuple[str, frozenset], str] = {}
    children: list[CategorySpec] = []
    used = set(existing) | {top for top, _ in _TOP_RULES} | {"fiction"}
    for (top, tokens), tags in sorted(clusters.items(), key=lambda kv: (-sum(tag_counts[t] for t in kv[1]),
                                                                         sorted(kv[1]))):
        if tokens in _TOP_ITSELF.get(top, ()):
            cluster_slug[(top, tokens)] = top
            continue
        best = max(tags, key=lambda t: (tag_counts[t], -len(t), t))
        slug = slugify(_DISPLAY.get(tokens) or _display_slug(best))[:120] or slugify(best)[:120]
        cluster_slug[(top, tokens)] = slug
        if slug in used:  # an existing category (ours, or staff's) with this slug: file the books there
            continue
        used.add(slug)
        children.append(CategorySpec(slug=slug, name=_humanise(slug), parent=top,
                                     position=len(children)))
    tag_category = {tag: cluster_slug[key] for tag, key in tag_cluster.items()}
    frequency: Counter = Counter()
    for tags in genres_by_book.values():
        frequency.update({tag_category[t] for t in tags if t in tag_category})
    return GenreTaxonomy(tag_category=tag_category, children=children, document_frequency=frequency)


def relevant_categories(tags: Iterable[str], taxonomy_: GenreTaxonomy, *, books: int,
                        limit: int = RELEVANT_CATEGORIES) -> list[str]:
    """A book's ``limit`` most relevant categories.

    The genres list is alphabetical and its tag counts were dropped, so relevance is rebuilt
    TF-IDF style: a category scores (how many of the book's tags land in it — several shelf
    names agreeing is a strong signal) × log(books / books carrying the category) — a category
    nearly every book has ("fiction") says little. Ties go to the more specific category, then by slug.
    """
    hits = Counter(taxonomy_.tag_category[t] for t in tags if t in taxonomy_.tag_category)
    frequency = taxonomy_.document_frequency

    def score(slug: str) -> tuple:
        df = max(1, frequency.get(slug, 1))
        return (-(hits[slug] * math.log((books + 1) / df)), df, slug)

    return sorted(hits, key=score)[:limit]


_SERIES = re.compile(r"^(?P<title>.*\S)\s*\((?P<series>[^()#]*?)\s*,?\s*#\s*(?P<pos>\d+(?:\.\d+)?)"
                     r"(?P<rest>[^()]*)\)\s*$")
_RANGE = re.compile(r"^\s*[-–]\s*\d")


def split_series(title: str) -> tuple[str, str | None, Decimal | None]:
    """``"The Hunger Games (The Hunger Games, #1)"`` -> ("The Hunger Games", "The Hunger Games", 1).

    Only the first series counts ("(Discworld, #1; Rincewind #1)"); a range (``#1-3``, a box
    set) keeps the series but no position; a parenthesis without ``#n`` ("(Penguin Readers,
    Level 5)") is left in the title.
    """
    title = " ".join((title or "").split())
    match = _SERIES.match(title)
    if not match or not match.group("series").strip(" ,"):
        return title, None, None
    position = None
    if not _RANGE.match(match.group("rest")):
        value = Decimal(match.group("pos"))
        position = value if value < 10000 else None
    return match.group("title").strip(), match.group("series").strip(" ,"), position


def split_authors(value: str) -> list[str]:
    """Comma-separated names, in order, each once."""
    return list(dict.fromkeys(" ".join(a.split()) for a in (value or "").split(",") if a.strip()))


def goodbooks_language(code: str) -> str:
    """ISO 639 code of a goodbooks ``language_code`` (eng, en-US, fre, ara …); blank or unusable -> en."""
    if not (code or "").strip():
        return "en"
    try:
        return services.language_normalise(code)
    except Unprocessable:
        return "en"


def goodbooks_isbn(value: str) -> str | None:
    """The ISBN-13 of the ``isbn`` column: an ISBN-10 whose leading zeros were lost (read as a
    number); ``None`` when blank or invalid. (``isbn13`` is in float notation: unusable.)"""
    value = (value or "").strip()
    if not value or not re.fullmatch(r"\d{1,9}[\dXx]", value):
        return None
    try:
        return services.isbn_normalise(value.upper().zfill(10))
    except Unprocessable:
        return None


def goodbooks_year(value: str) -> int | None:
    try:
        year = int(float(value))
    except (TypeError, ValueError):
        return None
    return year if -32768 <= year <= 32767 else None


def _covers(row: dict) -> dict:
    image, small = (row.get("image_url") or "").strip(), (row.get("small_image_url") or "").strip()
    covers = {}
    if image and NOPHOTO not in image:
        covers["original"] = image
    if small and NOPHOTO not in small:
        covers["small"] = small
    return covers


def goodbooks_read(source: Path) -> tuple[list[dict], dict[str, list[str]]]:
    """The rows of books.csv and each book's tags (by goodreads id), read from ``source``."""
    books_path, genres_path = goodbooks_files(source)
    try:
        rows = _read_csv(books_path)
        genres: dict[str, list[str]] = {}
        if genres_path is not None:
            for row in _read_csv(genres_path):
                key = (row.get("goodreads_book_id") or "").strip()
                genres[key] = [t.strip() for t in (row.get("genres") or "").split(",") if t.strip()]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise GoodbooksError(f"cannot read {source}: {exc}") from exc
    missing = {"goodreads_book_id", "title", "authors"} - set(rows[0] if rows else {})
    if missing:
        raise GoodbooksError(f"{books_path} has no column {', '.join(sorted(missing))}")
    return rows, genres


def goodbooks_records(rows: list[dict], genres: dict[str, list[str]], taxonomy_: GenreTaxonomy) -> Iterator[BookRecord]:
    for row in rows:
        key = (row.get("goodreads_book_id") or "").strip()
        authors = split_authors(row.get("authors", ""))
        title, series, position = split_series(row.get("title") or row.get("original_title") or "")
        if not key or not title or not authors:
            continue
        ratings = int(float(row.get("ratings_count") or 0))
        try:
            average = Decimal(row.get("average_rating") or "0").quantize(Decimal("0.01"))
        except ArithmeticError:
            average = Decimal("0")
        access, amount, currency = synthetic_access(f"goodreads:{key}")
        yield BookRecord(
            source=GOODREADS, key=key, title=title, authors=authors,
            language=goodbooks_language(row.get("language_code", "")),
            publication_year=goodbooks_year(row.get("original_publication_year", "")),
            series=series, series_position=position, isbn13=goodbooks_isbn(row.get("isbn", "")),
            categories=relevant_categories(genres.get(key, ()), taxonomy_, books=max(1, len(genres))),
            access_model=access, price_amount=amount, price_currency=currency,
            rating_average=min(max(average, Decimal("0")), Decimal("5")), rating_count=max(0, ratings),
            popularity=max(0, ratings), cover_urls=_covers(row),
            published_at=synthetic_published_at(f"goodreads:{key}"),
        )


def goodbooks_load(*, source: Path, events: bool = True, say: Callable[[str], None] = lambda _m: None
                   ) -> ImportResult:
    """Import goodbooks-10k from ``source`` (books.csv + book_genres.csv); idempotent."""
    rows, genres = goodbooks_read(Path(source))
    say(f"read {len(rows):,} books and the genres of {len(genres):,} from {source}")
    with transaction.atomic(using=DB, durable=True):
        categories = categories_ensure(taxonomy())
        genre_tax = genre_taxonomy(genres, existing=categories)
        categories = categories_ensure(genre_tax.children)

    def progress(result: ImportResult) -> None:
        say(f"  {result.created:,} books written ({time.perf_counter() - began:.1f} s)")

    began = time.perf_counter()
    return books_import(goodbooks_records(rows, genres, genre_tax), source=GOODREADS, categories=categories,
                        events=events, skip_same_work=True, progress=progress)


# --- synthetic catalogues (benchmarks) ---------------------------------------------------------------
SYNTHETIC = "synthetic"


class _Words:
    def __init__(self) -> None:
        self.raw = json.loads((DATA_DIR / "synthetic_words.json").read_text(encoding="utf-8"))
        weights = self.raw["languages"]
        self.languages = [lang for lang, weight in weights.items() for _ in range(weight)]

    def title(self, rng: random.Random, lang: str) -> str:
        words, places = self.raw[lang], self.raw["places"]
        template = rng.choice(words["templates"])
        place = rng.choice(places)
        if lang == "fr":
            a, b = rng.sample(words["nouns"], 2)
            text = template.format(A=a[0], B=b[0], deB=b[1], place=place)
        elif lang == "en":
            noun, noun2 = rng.sample(words["nouns"], 2)
            text = template.format(adj=rng.choice(words["adjectives"]), noun=noun, noun2=noun2, place=place)
            return " ".join(w[:1].upper() + w[1:] if w not in {"of", "the", "in", "and", "a"} or i == 0 else w
                            for i, w in enumerate(text.split()))
        else:
            noun, noun2 = rng.sample(words["nouns"], 2)
            text = template.format(noun=noun, Noun=noun.capitalize(), noun2=noun2, place=place)
        return text[:1].upper() + text[1:]

    def author(self, index: int) -> str:
        first, last = self.raw["first_names"], self.raw["last_names"]
        quotient = index // len(first)  # spread the last names (not all "Ndiaye" first)
        name = f"{first[index % len(first)]} {last[(quotient * (len(first) + 1) + index % len(first)) % len(last)]}"
        rank = index // (len(first) * len(last))
        if rank:
            name = name.replace(" ", f" {chr(ord('A') + (rank - 1) % 26)}. ", 1)
            if rank > 26:
                name += f" {rank // 26 + 1}"
        return name


def synthetic_records(*, start: int, count: int, categories: list[str], authors: int) -> Iterator[BookRecord]:
    """Books ``start`` … ``start + count - 1`` of the synthetic catalogue; book *n* is always the same
    (its random generator is seeded with *n*). Popularity is log-normal (a few very popular
    books, a long tail), ratings centred on 3.9, authors Zipf-like (some write many books)."""
    words = _Words()
    tops = sorted({c.split("/")[0] for c in categories})
    by_top = defaultdict(list)
    for path in categories:
        by_top[path.split("/")[0]].append(path.rsplit("/", 1)[-1])
    for n in range(start, start + count):
        rng = random.Random(n)
        lang = rng.choice(words.languages)
        title = words.title(rng, lang)  # first: the same title whatever the category tree
        popularity = int(math.exp(rng.gauss(5.5, 2.0)))
        rating = Decimal(str(round(min(5.0, max(1.0, rng.gauss(3.9, 0.35))), 2)))
        picked = []
        if tops:
            top = rng.choice(tops)
            picked = rng.sample(by_top[top], min(len(by_top[top]), rng.randint(1, 3)))
        names = [words.author(int(authors * rng.random() ** 1.6))]
        if rng.random() < 0.08:
            names.append(words.author(rng.randrange(authors)))
        access, amount, currency = synthetic_access(f"synthetic:{n}")
        yield BookRecord(
            source=SYNTHETIC, key=str(n), title=title, authors=names, language=lang,
            publication_year=rng.randint(1950, 2025), categories=picked, access_model=access,
            price_amount=amount, price_currency=currency, rating_average=rating,
            rating_count=int(popularity * rng.uniform(0.5, 1.0)), popularity=popularity,
            published_at=synthetic_published_at(f"synthetic:{n}"),
        )


def synthetic_load(*, books: int | None = None, total: int | None = None, events: bool = False,
                   say: Callable[[str], None] = lambda _m: None) -> ImportResult:
    """Add ``books`` synthetic books, or as many as bring the catalogue to ``total`` books."""
    with transaction.atomic(using=DB, durable=True):
        categories = categories_ensure(taxonomy())
    keys = existing_keys(SYNTHETIC)
    start = max((int(k) for k in keys if k.isdigit()), default=-1) + 1
    if total is not None:
        books = max(0, total - Book.objects.using(DB).count())
    if not books:
        return ImportResult()
    # leaves of the tree (books are filed under the most specific categories)
    parents = {c.parent_id for c in categories.values() if c.parent_id}
    leaves = [c.path for c in categories.values() if c.id not in parents]
    began = time.perf_counter()

    def progress(result: ImportResult) -> None:
        if result.created % 10000 < BATCH or result.created == books:
            say(f"  {result.created:,} synthetic books written ({time.perf_counter() - began:.1f} s)")

    return books_import(synthetic_records(start=start, count=books, categories=leaves,
                                          authors=max(500, books // 4)),
                        source=SYNTHETIC, categories=categories, events=events, progress=progress)

