"""Plain building blocks for a domain's ``contracts.py`` (no Django: an extracted service imports it).

An event payload is a frozen dataclass that inherits ``EventPayload``::

    @dataclass(frozen=True)
    class UserRegistered(EventPayload):
        \"\"\"``user.registered``\"\"\"
        VERSION = 1
        user_id: str
        ...

    EVENTS = {USER_REGISTERED: UserRegistered}   # type -> payload class, in the producer's contracts

``publish()`` refuses a type its producer did not declare and a payload that is not an
instance of the declared class; consumers read ``event.payload_as(UserRegistered)``.

Changing a payload: add a field with a default and nothing else changes. Renaming or
removing a field, or changing what one means, raises ``VERSION`` and overrides
``upcast``, the one place that reads an older version into the current fields, so a
consumer gets the current class whichever version was written (old rows stay in the
outbox, in dead letters and in flight through a deploy)::

    @dataclass(frozen=True)
    class BookChanged(EventPayload):
        VERSION = 2
        ...
        @classmethod
        def upcast(cls, data: dict, *, version: int) -> dict:
            if version == 1:
                data = {**data, "title": {"und": data["title"]}}
            return data
"""

from __future__ import annotations

import enum
from dataclasses import fields
from typing import Any, ClassVar, Final


class EventPayload:
    """Base of every event payload: a frozen dataclass with a ``VERSION``."""

    VERSION: ClassVar[int] = 1

    @classmethod
    def upcast(cls, data: dict[str, Any], *, version: int) -> dict[str, Any]:
        """Read a payload written at an older ``version`` as this version's fields.

        Called only when ``version < cls.VERSION``. The default refuses: a class that
        raises its ``VERSION`` says here how each older version maps to the new fields.
        """
        raise PayloadVersionError(
            f"{cls.__name__} v{cls.VERSION} cannot read a v{version} payload: override upcast()"
        )


class PayloadVersionError(ValueError):
    """An event's payload version cannot be read as the consumer's payload class."""


# --- changes: what a request asks to change, as a typed value -----------------------------------
class Unset(enum.Enum):
    """The type of ``UNSET``: a field a request did not give (``None`` is a value: "clear it").

    A change travels from the HTTP edge to a service as a frozen dataclass whose fields are
    ``T | None | Unset = UNSET``; an enum of one member, so the annotation says what a field
    may hold and ``if value is UNSET`` narrows it for a type checker."""

    UNSET = "UNSET"

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = Unset.UNSET


def given(changes: Any) -> dict[str, Any]:
    """The fields of a changes dataclass that are not ``UNSET``, by name (``model_update``'s data)."""
    return {f.name: getattr(changes, f.name) for f in fields(changes) if getattr(changes, f.name) is not UNSET}


__all__ = ["UNSET", "EventPayload", "PayloadVersionError", "Unset", "given"]
