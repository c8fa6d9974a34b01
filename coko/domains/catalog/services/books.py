"""Writing a book's description: create a draft, change it, pre-fill one from a book file,
and the admin console's edits.

A change travels as a ``BookChanges`` value (``changes.py``): each field is ``UNSET`` unless
the request gave it; credits are ``AuthorCredit``s, translations ``BookTexts``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext

from coko.platform.errors import DomainError
from coko.platform.services import model_update, use_case

from .. import contracts, errors, search, values
from ..models import Author, Book, BookAuthor, Category, Publisher, Series
from ._shared import DB, Actor, after_commit, announce, author_counts_refresh, credited_author_ids, editable, \
    first_edition, touched
from .changes import UNSET, AuthorCredit, BookChanges, BookTexts, Unset
from .formats import cover_set, format_attach


#: plain columns a change sets as given (``model_update``)
_PLAIN_FIELDS = ("title", "subtitle", "description", "publication_year", "series_position")


# --- helpers (inside a use case's transaction) -----------------------------------------------------
def author_get_or_create(*, name: str) -> Author:
    name = values.clean_name(name)
    if not name:
        raise errors.INVALID_AUTHOR()
    author = Author.objects.filter(name=name).first()
    if author is None:
        with transaction.atomic(using=DB):
            author, _created = Author.objects.get_or_create(name=name, defaults={"sort_name": values.sort_name(name)})
    return author


def _named(model, name: str | None):
    name = values.clean_name(name)
    if not name:
        return None
    obj, _created = model.objects.get_or_create(name=name)
    return obj


def _credits_set(book: Book, authors: Iterable[AuthorCredit]) -> None:
    BookAuthor.objects.filter(book=book).delete()
    seen = set()
    for position, credit in enumerate(authors):
        role = credit.role or "author"
        if role not in dict(BookAuthor.ROLES):
            raise errors.INVALID_AUTHOR_ROLE(role=role)
        if credit.author_id:
            author = Author.objects.filter(id=credit.author_id).first()
            if author is None:
                raise errors.UNKNOWN_AUTHOR(id=str(credit.author_id))
        else:
            author = author_get_or_create(name=credit.name or "")
        if (author.id, role) in seen:
            continue
        seen.add((author.id, role))
        BookAuthor.objects.create(book=book, author=author, role=role, position=position)


def _categories_set(book: Book, categories: Iterable[str]) -> None:
    categories = list(categories)
    found = list(Category.objects.filter(slug__in=categories))
    known = {c.slug for c in found}
    missing = [c for c in categories if c not in known]
    if missing:
        raise errors.UNKNOWN_CATEGORY(categories=missing)
    book.categories.set(found)


def _isbn_set(book: Book, isbn: str | None) -> None:
    edition = first_edition(book)
    edition.isbn13 = values.isbn_normalise(isbn) if isbn else None
    try:
        with transaction.atomic(using=DB):
            edition.save()
    except IntegrityError as exc:
        raise errors.ISBN_TAKEN(isbn=isbn) from exc


def _translations(texts_by_language: Mapping[str, BookTexts] | None) -> dict[str, dict[str, str]]:
    """``Book.translations``: ``{language code: {"title"|"subtitle"|"description": text}}``,
    the empty texts left out."""
    return {values.language_normalise(language): texts.given()
            for language, texts in (texts_by_language or {}).items()}


def _apply(book: Book, changes: BookChanges) -> set[str]:
    """Set the book's own columns from ``changes`` (not saved); returns the names that changed."""
    plain = {name: value for name, value in changes.given().items() if name in _PLAIN_FIELDS}
    for name in ("title", "subtitle", "description"):
        if name in plain:
            plain[name] = (plain[name] or "").strip()
    if "title" in plain and not plain["title"]:
        raise errors.INVALID_TITLE()
    _book, changed_names = model_update(instance=book, fields=_PLAIN_FIELDS, data=plain, save=False)
    changed = set(changed_names)
    if changes.translations is not UNSET:
        book.translations = _translations(changes.translations)
        changed.add("translations")
    if changes.language is not UNSET:
        book.language = values.language_normalise(changes.language)
        changed.add("language")
    if any(v is not UNSET for v in (changes.access_model, changes.price_amount, changes.price_currency)):
        access = book.access_model if changes.access_model is UNSET else changes.access_model
        amount = None if changes.price_amount is UNSET else changes.price_amount
        currency = None if changes.price_currency is UNSET else changes.price_currency
        if access == "sale":  # a sale book keeps the half of its price the change leaves out
            amount = book.price_amount if changes.price_amount is UNSET else amount
            currency = book.price_currency if changes.price_currency is UNSET else currency
        values.access_check(access_model=access, amount=amount, currency=currency)
        book.access_model = access
        book.price_amount, book.price_currency = (amount, currency) if access == "sale" else (None, None)
        book.price_xof = values.price_in_xof(amount=amount, currency=currency) if access == "sale" else None
        changed.add("access_model")
    if changes.publication_date is not UNSET:
        book.publication_date = changes.publication_date
        if isinstance(book.publication_date, date) and changes.publication_year is UNSET:
            book.publication_year = book.publication_date.year
        changed.add("publication_date")
    if changes.publisher is not UNSET:
        book.publisher = _named(Publisher, changes.publisher)
        changed.add("publisher")
    if changes.series is not UNSET:
        book.series = _named(Series, changes.series)
        changed.add("series")
    return changed


def _relations(book: Book, changes: BookChanges) -> None:
    if changes.authors is not UNSET:
        _credits_set(book, changes.authors or [])
    if changes.categories is not UNSET:
        _categories_set(book, changes.categories or [])
    if changes.isbn is not UNSET:
        _isbn_set(book, changes.isbn)


# --- use cases ----------------------------------------------------------------------------------
@use_case(DB)
def book_create(*, actor: Actor, changes: BookChanges, owner_id: str | None = None) -> Book:
    """A new draft, owned by the actor (staff may name another owner with ``owner_id``)."""
    return _book_create(actor=actor, changes=changes, owner_id=owner_id)


def _book_create(*, actor: Actor, changes: BookChanges, owner_id: str | None = None) -> Book:
    if not actor.can_publish:
        raise errors.PERMISSION_DENIED(missing_permissions=["publish_books"], required_roles=[])
    if not (changes.title if isinstance(changes.title, str) else "").strip():
        raise errors.INVALID_TITLE()
    book = Book(owner_id=(owner_id if actor.is_staff and owner_id else actor.user_id), language="en")
    if changes.language is UNSET or not changes.language:
        changes = replace(changes, language="en")
    _apply(book, changes)
    book.save()
    _relations(book, changes)
    search.documents_refresh(book_ids=[book.id])
    return book


@use_case(DB)
def book_update(*, actor: Actor, book_id, changes: BookChanges) -> Book:
    """Change a book. A published book announces the change (``book.updated``)."""
    book = editable(book_id, actor)
    changed = _apply(book, changes)
    if not changed and not changes.touches_relations:
        return book
    book.version = F("version") + 1
    book.save()
    book.refresh_from_db()
    old_authors = credited_author_ids(book.id)
    _relations(book, changes)
    search.documents_refresh(book_ids=[book.id])
    if book.status == "published":
        author_counts_refresh(author_ids=old_authors | credited_author_ids(book.id))
        announce(book, contracts.BOOK_UPDATED)
    after_commit(book)
    return book


def changes_from_metadata(metadata: contracts.IngestedMetadata) -> BookChanges:
    """What a book file says about itself, as the changes of a new draft (unusable values left out)."""
    language: str | Unset = UNSET
    if metadata.language:
        try:
            language = values.language_normalise(metadata.language)
        except DomainError:
            pass
    year = re.match(r"^(-?\d{4})", metadata.published or "")
    isbn: str | Unset = UNSET
    for scheme, value in metadata.identifiers:
        if scheme.lower() == "isbn" or re.fullmatch(r"(urn:isbn:)?[\d\s-]{10,17}X?", value.strip(), re.I):
            try:
                isbn = values.isbn_normalise(value.lower().removeprefix("urn:isbn:"))
                break
            except DomainError:
                continue
    return BookChanges(
        title=(metadata.title or "").strip()[:300] or gettext("Untitled"),
        authors=tuple(AuthorCredit(name=name) for name in metadata.authors if name.strip())[:20],
        description=(metadata.description or "")[:20000],
        language=language,
        publisher=metadata.publisher or UNSET,
        publication_year=int(year.group(1)) if year else UNSET,
        isbn=isbn,
    )


@use_case(DB)
def book_draft_from_metadata(*, actor: Actor, metadata: contracts.IngestedMetadata,
                             file: contracts.FormatFile | None = None,
                             cover: contracts.Cover | None = None) -> Book:
    """A draft pre-filled from what a book file says about itself (an EPUB's OPF)."""
    book = _book_create(actor=actor, changes=changes_from_metadata(metadata))
    if file is not None:
        format_attach(book, file)
    if cover is not None:
        cover_set(book, cover)
    return book


def book_admin_saved(*, book_id) -> None:
    """After a staff edit in the admin console: the price in XOF, the search document, the
    authors' counts, a new version and ``book.updated`` if the book is published.

    NOT a use case of its own: it runs inside the console's transaction (non-durable
    ``atomic``), so the edit and its event commit together."""
    with transaction.atomic(using=DB):
        book = Book.objects.select_for_update().get(id=book_id)
        if book.access_model == "sale" and book.price_amount and book.price_currency:
            Book.objects.filter(id=book.id).update(
                price_xof=values.price_in_xof(amount=book.price_amount, currency=book.price_currency))
        search.documents_refresh(book_ids=[book.id])
        author_counts_refresh(author_ids=credited_author_ids(book.id))
        touched(book)
