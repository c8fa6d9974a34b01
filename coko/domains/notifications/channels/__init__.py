"""Channel adapter interface for notifications.

Each channel (email, sms, push, webpush, inapp) implements ``ChannelAdapter``:
``send(Outgoing) -> Sent`` or raises one of the failure exceptions below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Outgoing:
    """One message to one destination on one channel."""

    to: str  # email address, E.164 number, device token, or web-push subscription JSON
    subject: str
    text: str
    html: str | None = None
    data: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Sent:
    provider: str
    provider_id: str


class TemporaryFailure(Exception):
    """Retry later (5xx, timeouts, rate limited); may carry retry_after seconds."""

    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """Do not retry (bad request)."""


class InvalidRecipient(PermanentFailure):
    """The destination is invalid (bad number, unregistered token): drop it."""


class ChannelAdapter(Protocol):
    name: str  # "email" | "sms" | "push" | "webpush" | "inapp"

    def send(self, message: Outgoing) -> Sent: ...


def adapter_for(channel: str) -> ChannelAdapter:
    """The configured adapter of a channel (``settings.COKO_NOTIFICATIONS["ADAPTERS"]``:
    channel → dotted path of a class built without arguments)."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    path = settings.COKO_NOTIFICATIONS["ADAPTERS"].get(channel)
    if not path:  # queued before the adapter was taken out of the configuration
        raise PermanentFailure(f"no adapter configured for channel {channel!r} "
                               f"(COKO_NOTIFY_{channel.upper()}_ADAPTER)")
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise PermanentFailure(f"adapter {path!r} of channel {channel!r} cannot be loaded: {exc}") from exc
    return cls()


__all__ = [
    "ChannelAdapter",
    "InvalidRecipient",
    "Outgoing",
    "PermanentFailure",
    "Sent",
    "TemporaryFailure",
    "adapter_for",
]
