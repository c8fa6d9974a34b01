"""Collections staff put forward (``featured``) and readers' own shelves.

A **collection** is a named, ordered list of books (names per language); staff edit it in
the console, the demo data fills ``featured`` with the starter catalogue. Every change makes
the cached reads stale and is announced in its transaction (``collection.changed``, or
``collection.deleted``: payload ``contracts.CollectionChanged``, all its books and a version
that grows): payments follows them to know which books a collection pass opens.

A reader's **shelf** is the books they keep to read: they put a book there and take it off
(``PUT``/``DELETE /api/v1/me/shelf/{book_id}``); OPDS apps list it (``/opds/shelf``).
Payments (issue 13) will add a purchased book to its buyer's shelf through an event (a
handler of ``payment.completed`` calling ``shelf_book_add``): idempotent, as handlers must be.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import F, Max

from coko.platform.events import publish
from coko.platform.services import use_case

from .. import cache, contracts, errors
from ..models import Book, Collection, CollectionItem, ShelfItem
from ._shared import DB


def _stale() -> None:
    cache.listings_changed(using=DB)  # the pages; no book shows which collections it is in


def _announce(collection: Collection, *, deleted: bool = False) -> int:
    """Stale reads, a new version of ``collection`` and its event with all its books (none when
    ``deleted``; call it before the row goes). Inside the caller's transaction; the version."""
    _stale()
    Collection.objects.filter(pk=collection.pk).update(version=F("version") + 1)
    version = Collection.objects.values_list("version", flat=True).get(pk=collection.pk)
    book_ids = () if deleted else tuple(
        str(i) for i in CollectionItem.objects.filter(collection_id=collection.pk).values_list("book_id", flat=True))
    publish(producer=DB, type=contracts.COLLECTION_DELETED if deleted else contracts.COLLECTION_CHANGED,
            aggregate_id=collection.pk, payload=contracts.CollectionChanged(
                collection_id=str(collection.pk), slug=collection.slug, version=version, book_ids=book_ids,
                deleted=deleted))
    return version


@use_case(DB)
def collection_ensure(*, slug: str, name: str, translations: dict | None = None,
                      book_ids: list | None = None) -> tuple[Collection, bool]:
    """The collection ``slug``, created with ``name`` and ``book_ids`` in that order if it does
    not exist; an existing one is left as staff made it. ``(collection, created)``."""
    collection, created = Collection.objects.get_or_create(
        slug=slug, defaults={"name": name, "translations": translations or {}})
    if created and book_ids:
        CollectionItem.objects.bulk_create(
            [CollectionItem(collection=collection, book_id=book_id, position=n) for n, book_id in enumerate(book_ids)],
            ignore_conflicts=True)
    if created:
        _announce(collection)
    return collection, created


@use_case(DB)
def collection_books_add(*, slug: str, book_ids: list) -> int:
    """Put books at the end of a collection, in the order given (those already in it stay
    where they are); how many were added."""
    collection = Collection.objects.select_for_update().filter(slug=slug).first()
    if collection is None:
        raise errors.COLLECTION_NOT_FOUND(slug=slug)
    present = {str(i) for i in CollectionItem.objects.filter(collection=collection).values_list("book_id", flat=True)}
    start = (CollectionItem.objects.filter(collection=collection).aggregate(last=Max("position"))["last"] or 0) + 1
    new = [book_id for book_id in dict.fromkeys(str(i) for i in book_ids) if book_id not in present]
    CollectionItem.objects.bulk_create([CollectionItem(collection=collection, book_id=book_id, position=start + n)
                                        for n, book_id in enumerate(new)])
    if new:
        _announce(collection)
    return len(new)


@use_case(DB)
def collection_books_remove(*, slug: str, book_ids: list) -> int:
    """Take books out of a collection (those not in it are ignored); how many were taken out."""
    collection = Collection.objects.select_for_update().filter(slug=slug).first()
    if collection is None:
        raise errors.COLLECTION_NOT_FOUND(slug=slug)
    removed, _ = CollectionItem.objects.filter(collection=collection, book_id__in=list(book_ids)).delete()
    if removed:
        _announce(collection)
    return removed


def collection_changed(*, collection: Collection) -> None:
    """Staff changed ``collection`` in the console (inside its transaction, after its books
    were saved): stale reads, and the change announced."""
    _announce(collection)


def collection_deleting(*, collection: Collection) -> None:
    """Staff are deleting ``collection`` in the console (inside its transaction, before the row
    goes): stale reads, and its end announced."""
    _announce(collection, deleted=True)


def _published(book_id) -> Book:
    try:
        book = Book.objects.filter(id=book_id, status="published").first()
    except ValidationError:
        book = None
    if book is None:
        raise errors.BOOK_NOT_FOUND(book_id=str(book_id))
    return book


@use_case(DB)
def shelf_book_add(*, user_id, book_id) -> bool:
    """Put a published book on a reader's shelf; whether it was not there yet (idempotent)."""
    book = _published(book_id)
    _item, created = ShelfItem.objects.get_or_create(user_id=user_id, book=book)
    return created


@use_case(DB)
def shelf_book_remove(*, user_id, book_id) -> bool:
    """Take a book off a reader's shelf; whether it was there (idempotent)."""
    try:
        deleted, _ = ShelfItem.objects.filter(user_id=user_id, book_id=book_id).delete()
    except ValidationError:
        return False
    return bool(deleted)
