"""The reading facade: the only functions other domains may call.

Arguments and results are plain values or the frozen types of ``reading.contracts``;
models and querysets never cross this boundary.
"""

from __future__ import annotations

from uuid import UUID

from . import contracts, selectors


def position_for(*, user_id: UUID | str, book_id: UUID | str) -> contracts.Position | None:
    """The reader's position in a book (whichever client wrote it), or None if they have none."""
    progress = selectors.progress_for(user_id=user_id, book_id=book_id)
    return selectors.position_as_contract(progress) if progress is not None else None
