"""Event handlers of the community domain: the catalogue's rating follows the reviews."""

from __future__ import annotations

from coko.platform.events import Event, subscribe

from . import contracts, services


@subscribe(contracts.REVIEW_POSTED, contracts.REVIEW_UPDATED, contracts.REVIEW_DELETED)
def book_rating_follow(event: Event) -> None:
    """Give the catalogue the reviewed book's rating, recomputed from every review (idempotent)."""
    review = event.payload_as(contracts.EVENTS[event.type])
    services.book_rating_sync(book_id=review.book_id)
