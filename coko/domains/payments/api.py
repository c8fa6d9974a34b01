"""The payments facade: the only functions other domains may call.

Arguments and results are plain values or the frozen types of ``payments.contracts``;
models and querysets never cross this boundary.
"""

from __future__ import annotations

from uuid import UUID

from . import contracts, selectors


def has_access(*, user_id: UUID | str | None, book_id: UUID | str) -> contracts.Access:
    """May ``user_id`` (None: anonymous) read ``book_id`` now: allowed, why (``ACCESS_REASONS``)
    and until when. Free books, purchases, passes whose scope covers the book, institution codes."""
    return selectors.access_for(user_id=user_id, book_id=book_id)


def entitlements(*, user_id: UUID | str) -> list[contracts.Entitlement]:
    """The reader's purchases and live passes (free books are not listed)."""
    return selectors.entitlements_for_user(user_id=user_id)
