"""What every domain's services share: one durable transaction per use case, plain field updates.

A use case is one durable transaction on its domain's alias, written the same way in
every domain (Zulip's ``@transaction.atomic(durable=True)`` on each action)::

    from coko.platform.services import model_update, use_case

    @use_case("catalog")
    def book_withdraw(*, actor: Actor, book_id: UUID) -> Book:
        ...                         # state and its outbox rows commit together

``model_update`` is HackSoft's ``common/services.py`` helper: set the listed fields
that ``data`` carries, save only those that changed.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar

from django.db import models, transaction

P = ParamSpec("P")
R = TypeVar("R")


def use_case(domain: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the decorated service as one durable transaction on ``domain``'s alias.

    Durable: calling it from inside another transaction on that alias is a bug (the
    caller could roll back what the service announced), and Django raises.
    """

    def decorator(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            with transaction.atomic(using=domain, durable=True):
                return func(*args, **kwargs)

        wrapper.use_case_domain = domain  # type: ignore[attr-defined]
        return wrapper

    return decorator


def model_update(*, instance: models.Model, fields: Iterable[str], data: Mapping[str, Any],
                 save: bool = True) -> tuple[models.Model, list[str]]:
    """Set each of ``fields`` that ``data`` holds on ``instance``; save the ones that changed.

    Returns the instance and the names of the fields that changed (empty: nothing
    was written). ``full_clean`` is the caller's business, as are relations.
    """
    changed = []
    for name in fields:
        if name not in data:
            continue
        if getattr(instance, name) != data[name]:
            setattr(instance, name, data[name])
            changed.append(name)
    if changed and save:
        update_fields = list(changed)
        if any(f.name == "updated_at" and getattr(f, "auto_now", False) for f in instance._meta.fields):
            update_fields.append("updated_at")
        instance.save(update_fields=update_fields)
    return instance, changed


__all__ = ["model_update", "use_case"]
