"""Event handlers of the catalog domain: its own book events keep the caches and the
external search index (when there is one) in step. Both effects are idempotent."""

from __future__ import annotations

from coko.platform.events import Event, subscribe

from . import api, contracts


@subscribe(contracts.BOOK_PUBLISHED, contracts.BOOK_UPDATED, contracts.BOOK_WITHDRAWN)
def book_changed_sync(event: Event) -> None:
    api.book_changed_apply(book_id=event.payload_as(contracts.BookChanged).book_id)
