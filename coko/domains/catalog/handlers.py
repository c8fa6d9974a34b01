"""Event handlers of the catalog domain: its own book events keep the caches and the
external search index (when there is one) in step; payments' purchases fill readers'
shelves. Every effect is idempotent."""

from __future__ import annotations

from coko.domains.payments import contracts as payments_contracts
from coko.platform.errors import NotFound
from coko.platform.events import Event, subscribe

from . import api, contracts, errors, services


@subscribe(contracts.BOOK_PUBLISHED, contracts.BOOK_UPDATED, contracts.BOOK_WITHDRAWN)
def book_changed_sync(event: Event) -> None:
    api.book_changed_apply(book_id=event.payload_as(contracts.BookChanged).book_id)


@subscribe(payments_contracts.BOOK_PURCHASED)
def shelf_add_purchase(event: Event) -> None:
    """A book the reader bought goes on their shelf (a book withdrawn meanwhile stays off it:
    payments still lets them read it)."""
    purchase = event.payload_as(payments_contracts.BookPurchased)
    try:
        services.shelf_book_add(user_id=purchase.user_id, book_id=purchase.book_id)
    except NotFound as exc:
        if not errors.BOOK_NOT_FOUND.matches(exc):
            raise
