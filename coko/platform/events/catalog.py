"""The events catalogue: every declared event with its fields and its consumers.

What ``manage.py events_catalog`` prints and what the contract tests check: for
each declared type, who produces it, its version and payload class, the payload's
fields with their types, and the ``@subscribe`` handlers that take it; and every
subscription to a type no domain declares (an error: nobody can ever publish it).
"""

from __future__ import annotations

import types
import typing
from dataclasses import MISSING, dataclass, fields

from . import registry
from .declared import Declared, all_declared, declared


@dataclass(frozen=True)
class Field:
    name: str
    type: str  # the annotation, resolved and written as in the source: "tuple[str, ...]", "str | None"
    required: bool  # False when the field has a default
    default: str | None = None  # the default as written in the source (repr), when there is one


@dataclass(frozen=True)
class Entry:
    producer: str
    type: str
    version: int
    payload: str  # "module.Class"
    fields: tuple[Field, ...]
    consumers: tuple[str, ...]  # handler names, sorted

    def as_dict(self) -> dict:
        return {
            "producer": self.producer, "type": self.type, "version": self.version, "payload": self.payload,
            "fields": [{"name": f.name, "type": f.type, "required": f.required, "default": f.default}
                       for f in self.fields],
            "consumers": list(self.consumers),
        }


@dataclass(frozen=True)
class UndeclaredSubscription:
    handler: str
    type: str

    def __str__(self) -> str:
        return f"{self.handler} subscribes to {self.type!r}, which no domain declares"


def type_name(annotation: object) -> str:
    """An annotation as a person writes it: ``str``, ``tuple[str, ...]``, ``Literal['a', 'b']``."""
    if annotation is type(None):
        return "None"
    if annotation is Ellipsis:
        return "..."
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return f"Literal[{', '.join(repr(arg) for arg in args)}]"
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_name(arg) for arg in args)
    if origin is not None:
        name = getattr(origin, "__name__", None) or repr(origin)
        return f"{name}[{', '.join(type_name(arg) for arg in args)}]" if args else name
    if isinstance(annotation, type):
        return annotation.__name__
    return repr(annotation).removeprefix("typing.")


def payload_fields(payload: type) -> tuple[Field, ...]:
    hints = typing.get_type_hints(payload)
    return tuple(
        Field(name=f.name, type=type_name(hints[f.name]),
              required=f.default is MISSING and f.default_factory is MISSING,
              default=repr(f.default) if f.default is not MISSING
              else f"{f.default_factory.__name__}()" if f.default_factory is not MISSING else None)
        for f in fields(payload)
    )


def _consumers() -> dict[str, list[str]]:
    by_type: dict[str, list[str]] = {}
    for sub in registry.all_subscriptions():
        for event_type in sub.event_types:
            by_type.setdefault(event_type, []).append(sub.name)
    return by_type


def entry(spec: Declared, consumers: dict[str, list[str]] | None = None) -> Entry:
    consumers = _consumers() if consumers is None else consumers
    return Entry(
        producer=spec.producer, type=spec.type, version=spec.version,
        payload=f"{spec.payload.__module__}.{spec.payload.__qualname__}",
        fields=payload_fields(spec.payload), consumers=tuple(sorted(consumers.get(spec.type, ()))),
    )


def events() -> list[Entry]:
    """Every declared event, by producer then type."""
    consumers = _consumers()
    return [entry(spec, consumers) for spec in all_declared()]


def undeclared_subscriptions() -> list[UndeclaredSubscription]:
    """Subscriptions to a type that no producer declares (nothing can ever publish it)."""
    return sorted(
        (UndeclaredSubscription(handler=sub.name, type=event_type)
         for sub in registry.all_subscriptions() for event_type in sub.event_types
         if declared(event_type) is None),
        key=lambda u: (u.handler, u.type),
    )
