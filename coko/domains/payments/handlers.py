"""Event handlers of the payments domain: the catalogue's books, as sellable things, and its
collections, as what a collection pass opens."""

from __future__ import annotations

from coko.domains.catalog.contracts import (
    BOOK_PUBLISHED,
    BOOK_UPDATED,
    BOOK_WITHDRAWN,
    COLLECTION_CHANGED,
    COLLECTION_DELETED,
    BookChanged,
    CollectionChanged,
)
from coko.platform.events import Event, subscribe

from . import services


@subscribe(BOOK_PUBLISHED, BOOK_UPDATED, BOOK_WITHDRAWN)
def sellable_book_follow(event: Event) -> None:
    """Keep the book's status, access model and price as the catalogue last announced them."""
    services.sellable_book_apply(book=event.payload_as(BookChanged))


@subscribe(COLLECTION_CHANGED, COLLECTION_DELETED)
def collection_follow(event: Event) -> None:
    """Keep the collection's books as the catalogue last announced them (a late copy is ignored)."""
    services.collection_apply(collection=event.payload_as(CollectionChanged))
