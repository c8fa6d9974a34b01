"""Which delivery channels this deployment can use (email, SMS, push …).

A channel is usable when ``settings.COKO_NOTIFICATIONS["ADAPTERS"]`` names an adapter for
it (``COKO_NOTIFY_<CHANNEL>_ADAPTER``). The notifications domain delivers; a domain that
asks for a delivery through an event (accounts' verification codes) reads the same fact
here, so that a client asking for a text message on a server that cannot send one gets a
clear error instead of a 202 for a delivery that will fail.
"""

from __future__ import annotations

from django.conf import settings


def channel_configured(channel: str) -> bool:
    """True when an adapter is configured for ``channel``."""
    return bool(settings.COKO_NOTIFICATIONS["ADAPTERS"].get(channel))


__all__ = ["channel_configured"]
