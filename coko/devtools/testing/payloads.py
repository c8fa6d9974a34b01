"""Sample event payloads for tests: one value per field, made from its type.

``sample_payload(UserRegistered)`` builds an instance with a generated value for
each field from the dataclass's resolved type hints (``str``, ``int``, ``bool``,
``float``, ``datetime``, ``date``, ``uuid.UUID``, ``tuple[X, ...]``, ``frozenset[X]``,
``list[X]``, ``dict[K, V]``, ``Literal[...]``, ``X | None`` and nested frozen
dataclasses). An annotation it does not know raises ``UnsupportedAnnotation``, naming
the class and field: teach the generator, do not skip the payload.

``seed`` varies the values (``X | None`` alternates between a value and ``None``,
a ``Literal`` picks another choice) so two seeds cover both sides.
"""

from __future__ import annotations

import dataclasses
import random
import types
import typing
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal


class UnsupportedAnnotation(TypeError):
    """A payload field's type the sample generator cannot build a value for."""


def sample_payload(cls: type, *, seed: int = 0):
    """An instance of the dataclass ``cls`` with a generated value for every field."""
    if not dataclasses.is_dataclass(cls):
        raise UnsupportedAnnotation(f"{cls!r} is not a dataclass")
    rng = random.Random(f"{cls.__module__}.{cls.__qualname__}:{seed}")
    hints = typing.get_type_hints(cls, include_extras=False)
    values = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        values[f.name] = sample_value(hints[f.name], rng=rng, seed=seed, where=f"{cls.__qualname__}.{f.name}")
    return cls(**values)


def sample_value(annotation, *, rng: random.Random, seed: int = 0, where: str = "?"):
    """A value of type ``annotation`` (see the module docstring for the types it knows)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is typing.Any:
        raise UnsupportedAnnotation(f"{where}: Any says nothing a consumer can rely on; give the field a type")
    if origin is typing.Literal:
        return args[seed % len(args)]
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in args if arg is not type(None)]
        if len(options) < len(args) and seed % 2:  # X | None: None on odd seeds
            return None
        return sample_value(options[seed % len(options)], rng=rng, seed=seed, where=where)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(sample_value(args[0], rng=rng, seed=seed, where=f"{where}[]") for _ in range(2))
        return tuple(sample_value(arg, rng=rng, seed=seed, where=f"{where}[{i}]") for i, arg in enumerate(args))
    if origin in (frozenset, set, list):
        if len(args) != 1:
            raise UnsupportedAnnotation(f"{where}: {annotation!r} needs its item type")
        items = [sample_value(args[0], rng=rng, seed=seed, where=f"{where}[]") for _ in range(2)]
        return origin(items)
    if origin is dict:
        if len(args) != 2:
            raise UnsupportedAnnotation(f"{where}: {annotation!r} needs its key and value types")
        return {sample_value(args[0], rng=rng, seed=seed, where=f"{where}.key"):
                sample_value(args[1], rng=rng, seed=seed, where=f"{where}.value") for _ in range(2)}
    if origin is not None:
        raise UnsupportedAnnotation(f"{where}: no sample for {annotation!r}")
    if annotation is bool:  # before int: bool is an int
        return rng.random() < 0.5
    if annotation is int:
        return rng.randint(-(2 ** 40), 2 ** 40)
    if annotation is float:
        return rng.uniform(-1e6, 1e6)
    if annotation is str:
        return f"s{rng.randrange(10 ** 9)}-é✓"  # not only ASCII: the JSON must carry any text
    if annotation is datetime:  # aware, microseconds included: what a timestamptz holds
        return datetime(2026, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=rng.randrange(10 ** 15))
    if annotation is date:
        return date(2000, 1, 1) + timedelta(days=rng.randrange(20_000))
    if annotation is uuid.UUID:
        return uuid.UUID(int=rng.getrandbits(128), version=4)
    if annotation is Decimal:
        return Decimal(rng.randrange(10 ** 6)) / 100
    if isinstance(annotation, type) and dataclasses.is_dataclass(annotation):
        return sample_payload(annotation, seed=seed)
    raise UnsupportedAnnotation(f"{where}: no sample for {annotation!r}")


__all__ = ["UnsupportedAnnotation", "sample_payload", "sample_value"]
