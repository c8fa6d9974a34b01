"""Which handler takes which event types.

A domain declares its subscriptions in ``<domain>/handlers.py``::

    @subscribe("user.registered")
    def welcome_new_reader(event: Event) -> None: ...

The handler runs inside a transaction on its own domain's alias, after the
platform recorded the event in that domain's inbox: its effect happens once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .envelope import EVENT_TYPE, Event

Handler = Callable[[Event], None]


@dataclass(frozen=True)
class Subscription:
    name: str  # "<domain>.<function>", stable: the inbox and dead letters key on it
    domain: str  # the consumer: its alias runs the handler, its inbox dedups
    event_types: frozenset[str]
    func: Handler


_subscriptions: dict[str, Subscription] = {}


def _domain_of_module(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) >= 3 and parts[:2] == ["coko", "domains"]:
        return parts[2]
    return None


def subscribe(*event_types: str, domain: str | None = None, name: str | None = None):
    """Register the decorated function as a handler of ``event_types``."""
    for event_type in event_types:
        if not EVENT_TYPE.fullmatch(event_type):
            raise ValueError(f"invalid event type {event_type!r}")

    def decorator(func: Handler) -> Handler:
        consumer = domain or _domain_of_module(func.__module__)
        if consumer is None:
            raise ValueError(f"{func.__module__}.{func.__name__}: pass domain= (not in a domain package)")
        handler_name = name or f"{consumer}.{func.__name__}"
        existing = _subscriptions.get(handler_name)
        if existing and existing.func is not func and existing.func.__qualname__ != func.__qualname__:
            raise ValueError(f"two handlers named {handler_name!r}")
        _subscriptions[handler_name] = Subscription(
            name=handler_name, domain=consumer, event_types=frozenset(event_types), func=func,
        )
        return func

    return decorator


def subscriptions_for(event_type: str) -> list[Subscription]:
    return [s for s in _subscriptions.values() if event_type in s.event_types]


def subscription(name: str) -> Subscription | None:
    return _subscriptions.get(name)


def all_subscriptions() -> list[Subscription]:
    return list(_subscriptions.values())


def subscribed_types() -> set[str]:
    return {t for s in _subscriptions.values() for t in s.event_types}


def unsubscribe(name: str) -> None:
    """Remove a handler (tests, and handlers removed by a deploy)."""
    _subscriptions.pop(name, None)


def autodiscover() -> None:
    """Import every app's ``handlers`` module and the configured extra modules."""
    from importlib import import_module

    from django.conf import settings
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("handlers")
    for module in settings.COKO_EVENTS["EXTRA_HANDLER_MODULES"]:
        import_module(module)
