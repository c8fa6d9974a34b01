"""The payments facade: the only functions other domains may call.

Arguments and results are plain values or the frozen types of ``payments.contracts``;
models and querysets never cross this boundary.
"""

from __future__ import annotations

from uuid import UUID

from . import contracts, selectors


def has_access(*, user_id: UUID | str | None, book_id: UUID | str) -> contracts.Access:
    """May ``user_id`` (None: anonymous) read ``book_id`` now: allowed, why (``ACCESS_REASONS``)
    and until when. Free books, purchases, passes whose scope covers the book (every book of the
    subscription model, or a collection's), institution codes."""
    return selectors.access_for(user_id=user_id, book_id=book_id)


def has_access_many(*, user_id: UUID | str | None, book_ids: list[UUID | str]) -> dict[str, contracts.Access]:
    """``has_access`` for many books at once (a feed's page: buy or acquisition links per reader),
    keyed by the book ids as given, as strings. One Redis round trip when the answers are cached;
    otherwise at most four database queries whatever the number of books, plus one round trip to
    store them. A book payments does not know is ``unknown_book``."""
    ids = [str(book_id) for book_id in book_ids]
    return dict(zip(ids, selectors.access_for_many(user_id=user_id, book_ids=ids), strict=True))


def entitlements(*, user_id: UUID | str) -> list[contracts.Entitlement]:
    """The reader's purchases and live passes (free books are not listed)."""
    return selectors.entitlements_for_user(user_id=user_id)
