"""Which events exist: each producer's declared types and payload classes, and their JSON form.

A domain declares what it publishes in ``<domain>/contracts.py``::

    EVENTS = {"user.registered": UserRegistered, ...}

``autodiscover()`` reads every domain's ``EVENTS`` at start-up (by name, as handlers are
found). Code outside the domains (tests, benchmarks) calls ``declare()`` itself.
Payloads travel as JSON made by pydantic from the dataclass's annotations, and are
read back into the class the same way (tuples, datetimes and literals included).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, is_dataclass
from typing import Any, TypeVar

from pydantic import TypeAdapter

from coko.platform.contracts import EventPayload, PayloadVersionError

from .envelope import EVENT_TYPE

P = TypeVar("P", bound=EventPayload)


class UndeclaredEvent(ValueError):
    """publish() of a type its producer has not declared in its contracts' ``EVENTS``."""


@dataclass(frozen=True)
class Declared:
    producer: str
    type: str
    payload: type[EventPayload]

    @property
    def version(self) -> int:
        return self.payload.VERSION


_declared: dict[str, Declared] = {}


def declare(*, producer: str, events: Mapping[str, type[EventPayload]]) -> None:
    """Record that ``producer`` publishes ``events`` (type -> payload class)."""
    for event_type, payload in events.items():
        if not EVENT_TYPE.fullmatch(event_type):
            raise ValueError(f"invalid event type {event_type!r}")
        if not (isinstance(payload, type) and issubclass(payload, EventPayload) and is_dataclass(payload)
                and payload.__dataclass_params__.frozen):
            raise TypeError(f"{event_type}: the payload {payload!r} is not a frozen EventPayload dataclass")
        if "VERSION" in payload.__dataclass_fields__:
            raise TypeError(f"{payload.__name__}.VERSION is annotated, so it became a field: write `VERSION = 2`")
        existing = _declared.get(event_type)
        if existing and existing.producer != producer:
            raise ValueError(f"{event_type!r} is declared by {existing.producer!r} and {producer!r}")
        _adapter(payload)  # an annotation pydantic cannot read fails here, at start-up, not at publish
        _declared[event_type] = Declared(producer=producer, type=event_type, payload=payload)


def undeclare(*event_types: str) -> None:
    """Forget declarations (tests)."""
    for event_type in event_types:
        _declared.pop(event_type, None)


def declared(event_type: str) -> Declared | None:
    return _declared.get(event_type)


def all_declared() -> list[Declared]:
    return sorted(_declared.values(), key=lambda d: (d.producer, d.type))


def declared_for_publish(*, producer: str, event_type: str, payload: Any) -> Declared:
    """The declaration ``publish()`` checks ``payload`` against; raises if it does not fit."""
    spec = _declared.get(event_type)
    if spec is None or spec.producer != producer:
        raise UndeclaredEvent(
            f"{producer!r} has not declared {event_type!r}: add it to EVENTS in "
            f"coko/domains/{producer}/contracts.py"
        )
    if type(payload) is not spec.payload:  # a subclass would publish fields nobody declared
        raise TypeError(f"{event_type!r} carries a {spec.payload.__name__}, not {type(payload).__name__}")
    return spec


@functools.cache
def _adapter(cls: type) -> TypeAdapter:
    return TypeAdapter(cls)


def payload_dump(payload: EventPayload) -> dict[str, Any]:
    """The payload as JSON-ready data; a field holding a value of the wrong type raises
    (``PydanticSerializationError``) instead of publishing what no consumer could read."""
    return _adapter(type(payload)).dump_python(payload, mode="json", warnings="error")


def payload_load(cls: type[P], data: Mapping[str, Any], *, version: int) -> P:
    """Read ``data``, written at ``version``, as ``cls`` (upcasting an older version)."""
    if version > cls.VERSION:
        raise PayloadVersionError(
            f"a v{version} payload is newer than {cls.__name__} v{cls.VERSION}: deploy the consumer's new contract"
        )
    if version < cls.VERSION:
        data = cls.upcast(dict(data), version=version)
    return _adapter(cls).validate_python(dict(data))


def autodiscover() -> None:
    """Declare the ``EVENTS`` of every domain's contracts module."""
    from importlib import import_module, util

    from django.conf import settings

    for domain in settings.COKO_DOMAINS:
        module_name = f"coko.domains.{domain}.contracts"
        if util.find_spec(module_name) is None:
            continue
        events = getattr(import_module(module_name), "EVENTS", None)
        if events:
            declare(producer=domain, events=events)
