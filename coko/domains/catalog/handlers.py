"""Event handlers of the catalog domain: its own book events keep the caches and the
external search index (when there is one) in step. Both effects are idempotent."""

from __future__ import annotations

from coko.platform.events import Event, subscribe

from . import api


@subscribe("book.published", "book.updated", "book.withdrawn")
def book_changed_sync(event: Event) -> None:
    api.book_changed_apply(book_id=event.payload["book_id"])
