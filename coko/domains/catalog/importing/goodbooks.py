"""goodbooks-10k (CC BY-SA 4.0, collected from Goodreads): downloaded with SHA-1 verification
or read from a directory (never shipped with Coko), its Goodreads tags turned into Coko
categories, its rows into ``BookRecord``s for the bulk writer."""

from __future__ import annotations

import csv
import hashlib
import re
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from coko.platform.errors import DomainError

from .. import values
from .genres import GenreTaxonomy, genre_taxonomy, relevant_categories
from .writer import DB, BookRecord, ImportResult, books_import, categories_ensure, popularity_seed, \
    synthetic_access, synthetic_published_at, taxonomy

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


#: Goodreads' words for a part in a book ("Robert Fagles (Translator)") -> a Coko credit role;
#: a part not named here (Introduction, Foreword, Afterword …) is ``contributor``
GOODREADS_ROLES = {
    "goodreads author": "author", "author": "author", "translator": "translator", "translation": "translator",
    "illustrator": "illustrator", "illustrations": "illustrator", "editor": "editor", "edited by": "editor",
    "narrator": "narrator", "reader": "narrator",
}
_COMMA = re.compile(r",(?![^()]*\))")
_ROLE = re.compile(r"^(?P<name>.*?)\s*\((?P<role>[^()]*)\)\s*$")


def split_credit(value: str) -> tuple[str, str]:
    """``"Robert Fagles (Translator)"`` -> ("Robert Fagles", "translator"); a bare name is an author.
    Of several parts ("(Translator, Introduction)", "(Editor/Contributor)") the first known one counts."""
    text = " ".join(value.split())
    match = _ROLE.match(text)
    if not match or not match.group("name"):
        return text, "author"
    parts = [p.strip().lower() for p in re.split(r"[,/;&]| and ", match.group("role")) if p.strip()]
    roles = [GOODREADS_ROLES[p] for p in parts if p in GOODREADS_ROLES]
    return match.group("name"), roles[0] if roles else "contributor"


def split_authors(value: str) -> list[str]:
    """The authors' names of a comma-separated ``authors`` column, in order, each once (those
    Goodreads names in another part, "(Translator)", "(Illustrator)" …, are not authors)."""
    return [name for name, role in split_credits(value) if role == "author"]


def split_credits(value: str) -> list[tuple[str, str]]:
    """Everyone the ``authors`` column credits, (name, role), in order, each once per role."""
    people = _COMMA.split(value or "")  # a comma inside a parenthesis separates parts, not people
    return list(dict.fromkeys(split_credit(a) for a in people if a.strip()))


def goodbooks_language(code: str) -> str:
    """ISO 639 code of a goodbooks ``language_code`` (eng, en-US, fre, ara …); blank or unusable -> en."""
    if not (code or "").strip():
        return "en"
    try:
        return values.language_normalise(code)
    except DomainError:
        return "en"


def goodbooks_isbn(value: str) -> str | None:
    """The ISBN-13 of the ``isbn`` column: an ISBN-10 whose leading zeros were lost (read as a
    number); ``None`` when blank or invalid. (``isbn13`` is in float notation: unusable.)"""
    value = (value or "").strip()
    if not value or not re.fullmatch(r"\d{1,9}[\dXx]", value):
        return None
    try:
        return values.isbn_normalise(value.upper().zfill(10))
    except DomainError:
        return None


def goodbooks_year(value: str) -> int | None:
    try:
        year = int(float(value))
    except (TypeError, ValueError):
        return None
    return year if -32768 <= year <= 32767 else None


def _cover_source(row: dict) -> str:
    """The cover image to fetch into storage (never shown as such): the larger one, when it
    is not Goodreads' "no photo" placeholder."""
    for column in ("image_url", "small_image_url"):
        url = (row.get(column) or "").strip()
        if url.startswith(("http://", "https://")) and NOPHOTO not in url:
            return url
    return ""


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
        credits = split_credits(row.get("authors", ""))
        authors = [name for name, role in credits if role == "author"]
        title, series, position = split_series(row.get("title") or row.get("original_title") or "")
        if not key or not title or not credits:
            continue
        ratings = int(float(row.get("ratings_count") or 0))
        try:
            average = Decimal(row.get("average_rating") or "0").quantize(Decimal("0.01"))
        except ArithmeticError:
            average = Decimal("0")
        access, amount, currency = synthetic_access(f"goodreads:{key}")
        yield BookRecord(
            source=GOODREADS, key=key, title=title, authors=authors,
            contributors=[(name, role) for name, role in credits if role != "author"],
            language=goodbooks_language(row.get("language_code", "")),
            publication_year=goodbooks_year(row.get("original_publication_year", "")),
            series=series, series_position=position, isbn13=goodbooks_isbn(row.get("isbn", "")),
            categories=relevant_categories(genres.get(key, ()), taxonomy_, books=max(1, len(genres))),
            access_model=access, price_amount=amount, price_currency=currency,
            rating_average=min(max(average, Decimal("0")), Decimal("5")), rating_count=max(0, ratings),
            popularity_seed=popularity_seed(max(0, ratings)), cover_source_url=_cover_source(row),
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


