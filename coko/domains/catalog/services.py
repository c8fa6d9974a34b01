"""Catalog writes. One durable transaction per use case writes the books and their events.

Who may write: staff (the ``admin`` role), and authors holding ``publish_books`` on the
books they own. Readers never see drafts or withdrawn books.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from coko.domains.accounts import api as accounts_api
from coko.platform.errors import Conflict, NotFound, PermissionDenied, Unprocessable
from coko.platform.events import publish

from . import cache, contracts, search
from .models import Author, Book, BookAuthor, Category, Edition, Format, Publisher, Series

DB = "catalog"

EDITABLE_FIELDS = ("title", "subtitle", "description", "translations", "language", "access_model",
                   "price_amount", "price_currency", "publication_date", "publication_year",
                   "publisher", "series", "series_position", "authors", "categories", "isbn")


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


# --- validation and normalisation --------------------------------------------------------------
_ISO639_2_TO_1 = {
    "eng": "en", "fre": "fr", "fra": "fr", "wol": "wo", "swa": "sw", "swh": "sw", "ara": "ar", "por": "pt",
    "spa": "es", "ger": "de", "deu": "de", "ita": "it", "dut": "nl", "nld": "nl", "hau": "ha", "yor": "yo",
    "ibo": "ig", "amh": "am", "zul": "zu", "xho": "xh", "lin": "ln", "bam": "bm", "ful": "ff", "kin": "rw",
    "som": "so", "mlg": "mg", "rus": "ru", "chi": "zh", "zho": "zh", "jpn": "ja", "tur": "tr", "pol": "pl",
    "swe": "sv", "nor": "no", "dan": "da", "fin": "fi", "gre": "el", "ell": "el", "heb": "he", "hin": "hi",
    "per": "fa", "fas": "fa", "ind": "id", "vie": "vi", "kor": "ko", "afr": "af", "tir": "ti", "orm": "om",
    "sna": "sn", "nya": "ny", "sot": "st", "tsn": "tn", "lug": "lg", "kik": "ki", "aka": "ak", "ewe": "ee",
    "lat": "la", "cat": "ca", "ron": "ro", "rum": "ro", "ces": "cs", "cze": "cs", "hun": "hu", "ukr": "uk",
}
_LANGUAGE = re.compile(r"[a-z]{2,3}")


def language_normalise(value: str) -> str:
    """An ISO 639 code from what a user or a file wrote ("fr", "fr-SN", "fre", "FRA", "en_US")."""
    code = (value or "").strip().lower().replace("_", "-").split("-")[0]
    code = _ISO639_2_TO_1.get(code, code)
    if not _LANGUAGE.fullmatch(code):
        raise Unprocessable("invalid_language", _("Give the language as an ISO 639 code (fr, en, wo, sw, ar …)."),
                            details={"language": value})
    return code


def isbn_normalise(value: str) -> str:
    """The ISBN-13 of an ISBN-10 or ISBN-13 (hyphens and spaces allowed); checksums verified."""
    digits = re.sub(r"[\s-]", "", value or "").upper()
    if re.fullmatch(r"\d{9}[\dX]", digits):
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(digits))
        if total % 11:
            raise Unprocessable("invalid_isbn", _("This ISBN-10 has a wrong check digit."), details={"isbn": value})
        digits = "978" + digits[:9]
        return digits + str((10 - sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(digits)) % 10) % 10)
    if re.fullmatch(r"97[89]\d{10}", digits):
        check = (10 - sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(digits[:12])) % 10) % 10
        if check != int(digits[12]):
            raise Unprocessable("invalid_isbn", _("This ISBN-13 has a wrong check digit."), details={"isbn": value})
        return digits
    raise Unprocessable("invalid_isbn", _("An ISBN has 10 or 13 digits (978/979…)."), details={"isbn": value})


def price_in_xof(*, amount: int, currency: str) -> int:
    """The XOF value of a price, for price filters: EUR at the fixed parity (655.957), USD at
    ``COKO_CATALOG['USD_XOF']``. Amounts are integer minor units (XOF has none)."""
    if currency == "XOF":
        return amount
    if currency == "EUR":
        return round(amount * 655.957 / 100)
    return round(amount * settings.COKO_CATALOG["USD_XOF"] / 100)


def _check_access(access_model: str, amount, currency) -> None:
    if access_model not in contracts.ACCESS_MODELS:
        raise Unprocessable("invalid_access_model", _("Access model must be free, subscription or sale."),
                            details={"access_model": access_model})
    if access_model == "sale":
        if currency not in contracts.CURRENCIES or amount is None or amount <= 0:
            raise Unprocessable("invalid_price",
                                _("A book for sale needs a positive price in XOF, EUR or USD (minor units)."),
                                details={"price_amount": amount, "price_currency": currency})
    elif amount is not None or currency is not None:
        raise Unprocessable("invalid_price", _("Only a book for sale has a price."),
                            details={"access_model": access_model})


def _sort_name(name: str) -> str:
    parts = name.split()
    return f"{parts[-1]}, {' '.join(parts[:-1])}".strip(", ") if len(parts) > 1 else name


# --- helpers (inside a transaction) ---------------------------------------------------------------
def author_get_or_create(*, name: str) -> Author:
    name = " ".join(name.split())[:200]
    if not name:
        raise Unprocessable("invalid_author", _("An author needs a name."))
    author = Author.objects.using(DB).filter(name=name).first()
    if author is None:
        with transaction.atomic(using=DB):
            author, _created = Author.objects.using(DB).get_or_create(name=name, defaults={"sort_name": _sort_name(name)})
    return author


def _named(model, name: str | None):
    if not name:
        return None
    name = " ".join(name.split())[:200]
    obj, _created = model.objects.using(DB).get_or_create(name=name)
    return obj


def _credits_set(book: Book, authors: list) -> None:
    """``authors``: names, or dicts ``{"name": …, "role": …}`` / ``{"id": …, "role": …}``."""
    BookAuthor.objects.using(DB).filter(book=book).delete()
    seen = set()
    for position, entry in enumerate(authors):
        if isinstance(entry, str):
            entry = {"name": entry}
        role = entry.get("role") or "author"
        if role not in dict(BookAuthor.ROLES):
            raise Unprocessable("invalid_author_role", _("Unknown author role."), details={"role": role})
        if entry.get("id"):
            author = Author.objects.using(DB).filter(id=entry["id"]).first()
            if author is None:
                raise Unprocessable("unknown_author", _("There is no such author."), details={"id": str(entry["id"])})
        else:
            author = author_get_or_create(name=entry.get("name") or "")
        if (author.id, role) in seen:
            continue
        seen.add((author.id, role))
        BookAuthor.objects.using(DB).create(book=book, author=author, role=role, position=position)


def _categories_set(book: Book, categories: list[str]) -> None:
    found = list(Category.objects.using(DB).filter(slug__in=categories))
    known = {c.slug for c in found}
    missing = [c for c in categories if c not in known]
    if missing:
        raise Unprocessable("unknown_category", _("There is no such category."), details={"categories": missing})
    book.categories.set(found)


def _isbn_set(book: Book, isbn: str | None) -> None:
    edition = book.editions.order_by("created_at").first()
    if edition is None:
        edition = Edition.objects.using(DB).create(book=book, publisher=book.publisher,
                                                   publication_date=book.publication_date)
    edition.isbn13 = isbn_normalise(isbn) if isbn else None
    try:
        with transaction.atomic(using=DB):
            edition.save(using=DB)
    except IntegrityError as exc:
        raise Conflict("isbn_taken", _("Another book already has this ISBN."), details={"isbn": isbn}) from exc


def _author_counts_refresh(author_ids) -> None:
    ids = list(author_ids)
    if not ids:
        return
    counts = dict(BookAuthor.objects.using(DB).filter(author_id__in=ids, book__status="published")
                  .values("author_id").annotate(n=Count("book_id", distinct=True)).values_list("author_id", "n"))
    for author_id in ids:
        Author.objects.using(DB).filter(id=author_id).update(book_count=counts.get(author_id, 0))


def _event(book: Book, type_: str) -> None:
    credits = list(BookAuthor.objects.using(DB).filter(book=book).values_list("author_id", flat=True))
    categories = list(book.categories.values_list("id", flat=True))
    publish(producer=DB, type=type_, aggregate_id=book.id, payload=contracts.BookChanged(
        book_id=str(book.id), version=book.version, status=book.status, title=book.title,
        language=book.language, access_model=book.access_model,
        author_ids=tuple(str(a) for a in credits), category_ids=tuple(str(c) for c in categories),
        owner_id=str(book.owner_id) if book.owner_id else None,
    ))


def _after_commit() -> None:
    transaction.on_commit(cache.catalog_changed, using=DB)


def _editable(book_id, actor: Actor, *, lock: bool = True) -> Book:
    books = Book.objects.using(DB)
    if lock:
        books = books.select_for_update()
    book = books.filter(id=book_id).first()
    if book is None:
        raise NotFound("book_not_found", _("There is no such book."))
    if not actor.may_edit(owner_id=book.owner_id):
        raise PermissionDenied("not_your_book", _("Only the book's author or staff may change it."))
    return book


def _apply(book: Book, data: dict) -> set[str]:
    """Set the editable fields present in ``data``; returns the names that changed."""
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise Unprocessable("unknown_fields", _("These fields cannot be set."), details={"fields": sorted(unknown)})
    changed = set()
    for name in ("title", "subtitle", "description"):
        if name in data:
            value = (data[name] or "").strip()
            if name == "title" and not value:
                raise Unprocessable("invalid_title", _("A book needs a title."))
            if getattr(book, name) != value:
                setattr(book, name, value)
                changed.add(name)
    if "translations" in data:
        translations = {}
        for lang, texts in (data["translations"] or {}).items():
            code = language_normalise(lang)
            bad = set(texts or {}) - {"title", "subtitle", "description"}
            if bad:
                raise Unprocessable("invalid_translation", _("Only title, subtitle and description are translated."),
                                    details={"language": lang, "fields": sorted(bad)})
            translations[code] = {k: v for k, v in (texts or {}).items() if v}
        book.translations = translations
        changed.add("translations")
    if "language" in data:
        book.language = language_normalise(data["language"])
        changed.add("language")
    if {"access_model", "price_amount", "price_currency"} & set(data):
        access = data.get("access_model", book.access_model)
        if access == "sale":
            amount = data.get("price_amount", book.price_amount)
            currency = data.get("price_currency", book.price_currency)
        else:
            amount, currency = data.get("price_amount"), data.get("price_currency")
        _check_access(access, amount, currency)
        book.access_model = access
        book.price_amount, book.price_currency = (amount, currency) if access == "sale" else (None, None)
        book.price_xof = price_in_xof(amount=amount, currency=currency) if access == "sale" else None
        changed.add("access_model")
    if "publication_date" in data:
        book.publication_date = data["publication_date"]
        if isinstance(book.publication_date, date):
            book.publication_year = book.publication_date.year
        changed.add("publication_date")
    if "publication_year" in data:
        book.publication_year = data["publication_year"]
        changed.add("publication_year")
    if "publisher" in data:
        book.publisher = _named(Publisher, data["publisher"])
        changed.add("publisher")
    if "series" in data:
        book.series = _named(Series, data["series"])
        changed.add("series")
    if "series_position" in data:
        book.series_position = data["series_position"]
        changed.add("series_position")
    return changed


def _relations(book: Book, data: dict) -> set[str]:
    changed = set()
    if "authors" in data:
        _credits_set(book, data["authors"] or [])
        changed.add("authors")
    if "categories" in data:
        _categories_set(book, data["categories"] or [])
        changed.add("categories")
    if "isbn" in data:
        _isbn_set(book, data["isbn"])
        changed.add("isbn")
    return changed


# --- use cases ----------------------------------------------------------------------------------
def book_create(*, actor: Actor, data: dict) -> Book:
    """A new draft, owned by the actor (staff may name another owner with ``owner_id``)."""
    with transaction.atomic(using=DB, durable=True):
        return _book_create(actor, data)


def _book_create(actor: Actor, data: dict) -> Book:
    if not actor.can_publish:
        raise PermissionDenied("permission_denied", _("You need the publish_books permission."),
                               details={"missing": ["publish_books"]})
    data = dict(data)
    owner_id = data.pop("owner_id", None)
    if not (data.get("title") or "").strip():
        raise Unprocessable("invalid_title", _("A book needs a title."))
    book = Book(owner_id=(owner_id if actor.is_staff and owner_id else actor.user_id), language="en")
    _apply(book, {"language": data.get("language") or "en", **data})
    book.save(using=DB)
    _relations(book, data)
    search.documents_refresh(book_ids=[book.id])
    return book


def book_update(*, actor: Actor, book_id, data: dict) -> Book:
    """Change a book. A published book announces the change (``book.updated``)."""
    with transaction.atomic(using=DB, durable=True):
        book = _editable(book_id, actor)
        changed = _apply(book, data)
        if not changed and not ({"authors", "categories", "isbn"} & set(data)):
            return book
        book.version = F("version") + 1
        book.save(using=DB)
        book.refresh_from_db(using=DB)
        old_authors = set(BookAuthor.objects.using(DB).filter(book=book).values_list("author_id", flat=True))
        _relations(book, data)
        search.documents_refresh(book_ids=[book.id])
        if book.status == "published":
            new_authors = set(BookAuthor.objects.using(DB).filter(book=book).values_list("author_id", flat=True))
            _author_counts_refresh(old_authors | new_authors)
            _event(book, contracts.BOOK_UPDATED)
        _after_commit()
    return book


def book_publish(*, actor: Actor, book_id) -> Book:
    """Make a draft (or withdrawn book) visible to readers; announces ``book.published``."""
    with transaction.atomic(using=DB, durable=True):
        book = _editable(book_id, actor)
        if book.status == "published":
            return book
        missing = []
        if not book.title:
            missing.append("title")
        if not BookAuthor.objects.using(DB).filter(book=book).exists():
            missing.append("authors")
        if missing:
            raise Unprocessable("book_incomplete", _("This book cannot be published yet."),
                                details={"missing": missing})
        book.published_at = book.published_at or timezone.now()
        _status_set(book, "published", contracts.BOOK_PUBLISHED)
    return book


def book_withdraw(*, actor: Actor, book_id, reason: str = "") -> Book:
    """Hide a published book from readers; announces ``book.withdrawn``."""
    with transaction.atomic(using=DB, durable=True):
        book = _editable(book_id, actor)
        if book.status != "published":
            raise Conflict("book_not_published", _("Only a published book can be withdrawn."),
                           details={"status": book.status})
        _status_set(book, "withdrawn", contracts.BOOK_WITHDRAWN)
    return book


def _status_set(book: Book, status: str, event_type: str) -> None:
    """Move a book to ``status``: a new version, its authors' counts, the event, the caches."""
    book.status = status
    book.version = F("version") + 1
    book.save(using=DB)
    book.refresh_from_db(using=DB)
    _author_counts_refresh(BookAuthor.objects.using(DB).filter(book=book).values_list("author_id", flat=True))
    _event(book, event_type)
    _after_commit()


def book_draft_from_metadata(*, actor: Actor, metadata: contracts.IngestedMetadata,
                             file: contracts.FormatFile | None = None,
                             cover: contracts.Cover | None = None) -> Book:
    """A draft pre-filled from what a book file says about itself (an EPUB's OPF)."""
    data: dict = {"title": (metadata.title or "").strip()[:300] or _("Untitled"),
                  "authors": [a for a in metadata.authors if a.strip()][:20],
                  "description": (metadata.description or "")[:20000]}
    if metadata.language:
        try:
            data["language"] = language_normalise(metadata.language)
        except Unprocessable:
            pass
    if metadata.publisher:
        data["publisher"] = metadata.publisher
    year = re.match(r"^(-?\d{4})", metadata.published or "")
    if year:
        data["publication_year"] = int(year.group(1))
    for scheme, value in metadata.identifiers:
        if scheme.lower() == "isbn" or re.fullmatch(r"(urn:isbn:)?[\d\s-]{10,17}X?", value.strip(), re.I):
            try:
                data["isbn"] = isbn_normalise(value.lower().removeprefix("urn:isbn:"))
                break
            except Unprocessable:
                continue
    with transaction.atomic(using=DB, durable=True):
        book = _book_create(actor, data)
        if file is not None:
            _format_attach(book, file)
        if cover is not None:
            _cover_set(book, cover)
    return book


def book_format_attach(*, actor: Actor, book_id, file: contracts.FormatFile) -> None:
    """Attach (or replace) one format of the book's first edition."""
    with transaction.atomic(using=DB, durable=True):
        _format_attach(_editable(book_id, actor), file)


def _format_attach(book: Book, file: contracts.FormatFile) -> None:
    if file.kind not in contracts.FORMAT_KINDS:
        raise Unprocessable("invalid_format", _("Unknown format."), details={"kind": file.kind})
    edition = book.editions.order_by("created_at").first() or Edition.objects.using(DB).create(
        book=book, publisher=book.publisher, publication_date=book.publication_date)
    Format.objects.using(DB).update_or_create(edition=edition, kind=file.kind, defaults={
        "file_id": file.file_id, "media_type": file.media_type, "size": file.size,
        "sha256": file.sha256, "koreader_md5": file.koreader_md5})
    _touched(book)


def book_format_attach_trusted(*, book_id, file: contracts.FormatFile) -> None:
    """Attach a file with no actor to check: for trusted jobs only (the demo files)."""
    with transaction.atomic(using=DB, durable=True):
        book = Book.objects.using(DB).select_for_update().filter(id=book_id).first()
        if book is None:
            raise NotFound("book_not_found", _("There is no such book."))
        _format_attach(book, file)


def book_cover_set(*, actor: Actor, book_id, cover: contracts.Cover) -> None:
    """Set the book's cover (the files domain made the thumbnails)."""
    with transaction.atomic(using=DB, durable=True):
        _cover_set(_editable(book_id, actor), cover)


def _cover_set(book: Book, cover: contracts.Cover) -> None:
    book.cover_file_id = cover.file_id
    book.cover_urls = dict(cover.urls)
    book.save(using=DB, update_fields=["cover_file_id", "cover_urls", "updated_at"])
    _touched(book)


def _touched(book: Book) -> None:
    Book.objects.using(DB).filter(id=book.id).update(version=F("version") + 1)
    book.refresh_from_db(using=DB)
    if book.status == "published":
        _event(book, contracts.BOOK_UPDATED)
    _after_commit()


def category_create(*, actor: Actor, slug: str | None, name: str, parent_slug: str | None = None,
                    translations: dict | None = None) -> Category:
    """A node of the taxonomy (staff only)."""
    if not actor.is_staff:
        raise PermissionDenied("permission_denied", _("Only staff may change the categories."))
    slug = slug or slugify(name)
    with transaction.atomic(using=DB, durable=True):
        parent = None
        if parent_slug:
            parent = Category.objects.using(DB).filter(slug=parent_slug).first()
            if parent is None:
                raise Unprocessable("unknown_category", _("There is no such category."),
                                    details={"parent": parent_slug})
        if Category.objects.using(DB).filter(slug=slug).exists():
            raise Conflict("category_exists", _("A category with this slug exists."), details={"slug": slug})
        category = Category(slug=slug, name=name, parent=parent, translations=translations or {})
        category.save(using=DB)
        transaction.on_commit(cache.catalog_changed, using=DB)
    return category


def book_stats_set(*, book_id, rating_average=None, rating_count=None, popularity=None) -> None:
    """Set a book's rating aggregate or popularity (fed by the reading and community domains).

    Not announced as ``book.updated``: these numbers change constantly; lists pick them up
    when their cache expires.
    """
    changes = {k: v for k, v in {"rating_average": rating_average, "rating_count": rating_count,
                                 "popularity": popularity}.items() if v is not None}
    if changes:
        with transaction.atomic(using=DB, durable=True):
            Book.objects.using(DB).filter(id=book_id).update(**changes)


def book_admin_saved(*, book_id) -> None:
    """After a staff edit in the admin console: bump the version, refresh the search
    document and announce the change if the book is published — in the console's own
    transaction, so the edit and its event commit together."""
    with transaction.atomic(using=DB):
        book = Book.objects.using(DB).select_for_update().get(id=book_id)
        if book.access_model == "sale" and book.price_amount and book.price_currency:
            Book.objects.using(DB).filter(id=book.id).update(
                price_xof=price_in_xof(amount=book.price_amount, currency=book.price_currency))
        search.documents_refresh(book_ids=[book.id])
        _author_counts_refresh(BookAuthor.objects.using(DB).filter(book=book).values_list("author_id", flat=True))
        _touched(book)
