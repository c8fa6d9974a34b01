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

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import models, transaction

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound=models.Model)

#: The alias whose event handler is running in this context (set by the event delivery).
_handling: ContextVar[str | None] = ContextVar("coko_handling_on", default=None)


@contextlib.contextmanager
def handler_transaction(domain: str) -> Iterator[None]:
    """Mark the code inside as an event handler's, running in the delivery's transaction on
    ``domain``'s alias (the platform's delivery does this; tests that call a handler directly
    may too). A use case called from there joins that transaction (see ``use_case``)."""
    token = _handling.set(domain)
    try:
        yield
    finally:
        _handling.reset(token)


def use_case(domain: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Run the decorated service as one durable transaction on ``domain``'s alias.

    Durable: calling it from inside another transaction on that alias is a bug (the
    caller could roll back what the service announced), and Django raises. One caller
    is expected to do so: an event handler of the same domain, which runs inside the
    delivery's transaction (its inbox row). There the use case runs in a savepoint of
    that transaction, so its state, its outbox rows and the inbox row commit together.
    """
    if domain not in settings.COKO_DOMAINS:
        raise ValueError(f"use_case({domain!r}): not a domain (COKO_DOMAINS)")

    def decorator(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            durable = _handling.get() != domain
            with transaction.atomic(using=domain, durable=durable):
                return func(*args, **kwargs)

        wrapper.use_case_domain = domain  # type: ignore[attr-defined]
        return wrapper

    return decorator


def model_update(*, instance: M, fields: Iterable[str], data: Mapping[str, Any],
                 save: bool = True) -> tuple[M, list[str]]:
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
        # auto_now fields (updated_at …) are set by save() but only written if listed.
        update_fields = changed + [f.name for f in instance._meta.concrete_fields
                                   if getattr(f, "auto_now", False) and f.name not in changed]
        instance.save(update_fields=update_fields)
    return instance, changed


__all__ = ["handler_transaction", "model_update", "use_case"]
