"""The catalogue as payments sees it: its books (``book.*`` events) and its collections
(``collection.*`` events: what a collection pass opens)."""

from __future__ import annotations

from coko.domains.catalog.contracts import BookChanged, CollectionChanged
from coko.platform import versioned
from coko.platform.services import use_case

from ..models import CatalogCollection, CollectionBook, SellableBook
from ..selectors import book_version
from ._shared import DB


@use_case(DB)
def sellable_book_apply(*, book: BookChanged) -> bool:
    """Keep ``book``'s title, status, access model and price, unless a newer version is already
    kept (events of one book arrive in order, but a replay may bring an old one again).
    Returns whether anything was written."""
    fields = {"title": book.title[:500], "status": book.status, "access_model": book.access_model,
              "price_amount": book.price_amount, "price_currency": book.price_currency,
              "catalog_version": book.version}
    kept = SellableBook.objects.select_for_update().filter(book_id=book.book_id).first()
    if kept is None:
        SellableBook.objects.create(book_id=book.book_id, **fields)
    elif kept.catalog_version >= book.version:
        return False
    else:
        for name, value in fields.items():
            setattr(kept, name, value)
        kept.save()
    versioned.bump(book_version(book.book_id), using=DB)
    return True


@use_case(DB)
def collection_apply(*, collection: CollectionChanged) -> bool:
    """Keep ``collection``'s slug and books as the catalogue last announced them, unless a newer
    version is already kept (a replay, or a late copy, never undoes a newer change). The books
    whose answer may change (in or out, or all of them when the slug changes) go cold in the
    access cache. Returns whether anything was written."""
    kept = CatalogCollection.objects.select_for_update().filter(collection_id=collection.collection_id).first()
    if kept is not None and kept.catalog_version >= collection.version:
        return False
    before = set() if kept is None else {str(i) for i in kept.books.values_list("book_id", flat=True)}
    after = set() if collection.deleted else set(collection.book_ids)
    renamed = kept is not None and (kept.slug != collection.slug or kept.deleted != collection.deleted)
    kept, _ = CatalogCollection.objects.update_or_create(
        collection_id=collection.collection_id,
        defaults={"slug": collection.slug, "deleted": collection.deleted, "catalog_version": collection.version})
    kept.books.filter(book_id__in=before - after).delete()
    CollectionBook.objects.bulk_create([CollectionBook(collection=kept, book_id=book_id) for book_id in after - before])
    changed = (before | after) if renamed else (before ^ after)
    if changed:
        versioned.bump(*(book_version(book_id) for book_id in sorted(changed)), using=DB)
    return True
