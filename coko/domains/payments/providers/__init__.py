"""The payment providers, one adapter each behind one interface (``base.Provider``).

=================  ==========================================  ============================
provider           on when set                                 module
=================  ==========================================  ============================
``orange_money``   ``ORANGE_MONEY_CLIENT_ID`` (+ secret, key)  ``orange_money``
``wave``           ``WAVE_API_KEY`` (+ ``WAVE_WEBHOOK_SECRET``)  ``wave``
``stripe``         ``STRIPE_SECRET_KEY`` (+ webhook secret)    ``stripe_cards``
=================  ==========================================  ============================

``make run`` points each one nobody configured at its local simulator
(``coko.devtools.simulators``), so a payment can be made end to end on a fresh machine.
"""

from __future__ import annotations

import functools

from .. import errors
from .base import Checkout, Inbound, Provider, ProviderStatus, Refused, Rejected, StatementLine, Unavailable
from .orange_money import OrangeMoneyProvider
from .stripe_cards import StripeProvider
from .wave import WaveProvider

_CLASSES = {"orange_money": OrangeMoneyProvider, "wave": WaveProvider, "stripe": StripeProvider}


@functools.cache
def _configured(name: str) -> Provider | None:
    return _CLASSES[name].from_settings()


def provider_for(name: str) -> Provider:
    """The adapter of ``name``; ``provider_not_configured`` when its settings are not set."""
    provider = _configured(name) if name in _CLASSES else None
    if provider is None:
        raise errors.PROVIDER_NOT_CONFIGURED(provider=name)
    return provider


def configured() -> list[str]:
    """The providers this server can take payments with."""
    return [name for name in _CLASSES if _configured(name) is not None]


def reset() -> None:
    """Forget the adapters built from settings (tests that change them)."""
    _configured.cache_clear()


__all__ = ["Checkout", "Inbound", "Provider", "ProviderStatus", "Refused", "Rejected", "StatementLine",
           "Unavailable", "configured", "provider_for", "reset"]
