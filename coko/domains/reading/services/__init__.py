"""Reading use cases (each one durable transaction writing state and outbox rows together).

Families: ``positions`` (a reader's place in a book, from the Coko API and KOReader's sync:
the no-silent-backwards rule, the history, the started/progressed/completed events).
"""

from ._shared import DB
from .positions import Outcome, PositionIn, book_access_check, position_record

__all__ = ["DB", "Outcome", "PositionIn", "book_access_check", "position_record"]
