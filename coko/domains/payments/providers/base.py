"""What every payment provider adapter offers, and what it answers in.

An adapter speaks one provider's HTTP protocol (facts: ``../shared/specs/payments.md``) and
nothing else: no model, no transaction. The use cases call it between their transactions
(``payments.services.checkout``), so a provider that hangs never holds a database lock.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol


@dataclass(frozen=True)
class Checkout:
    """What the provider answered to a payment's creation."""

    provider_ref: str  # its id of the payment: cos-…, the pay_token, pi_… / cs_…
    redirect_url: str = ""  # where the payer approves (Wave, Orange, Stripe Checkout)
    secret: str = ""  # kept encrypted: Orange's notif_token, Stripe's client secret


@dataclass(frozen=True)
class ProviderStatus:
    """The provider's authoritative word on a payment (fetched again before anything is granted)."""

    #: processing | succeeded | failed | expired | canceled, or ``declined``: the payer's attempt
    #: failed but the checkout is still open at the provider (closed by ``close`` before failing)
    state: str
    amount: int | None = None  # integer minor units, when the provider says
    currency: str | None = None
    provider_ref: str = ""
    failure: str = ""
    subscription_id: str = ""  # Stripe: the subscription a card pass's checkout started


@dataclass(frozen=True)
class Inbound:
    """A verified webhook: which payment it is about and what it claims (to be checked by a
    status fetch where the provider offers one)."""

    event_id: str
    event_type: str
    reference: str = ""  # our payment reference, when the provider echoes it
    provider_ref: str = ""
    claimed_state: str = ""  # succeeded | failed | … as the event says
    #: ``payment`` (about a checkout of ours: it must name a payment we know), ``subscription``
    #: (a card pass's renewal, failure or end: ``subscription_id`` names it) or ``ignored`` (an
    #: event we do not act on, acknowledged so that the provider stops sending it)
    kind: str = "payment"
    subscription_id: str = ""
    #: A token that must equal the payment's stored secret (Orange's ``notif_token``: its
    #: notifications are not signed); compared in constant time by the caller, which has it.
    token: str = ""
    body: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StatementLine:
    """One payment in a provider's statement of a day, for reconciliation: ``reference`` is ours
    (the payment's, or a Stripe renewal's invoice id) when the provider knows it."""

    provider_ref: str
    reference: str
    amount: int
    currency: str
    state: str  # succeeded | refunded (a payment since refunded, or a line of ``refunds``)


class Rejected(Exception):
    """A webhook that cannot be trusted: bad or missing signature, too old, unknown payment."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class Unavailable(Exception):
    """The provider did not answer (timeout, 5xx, 429): nothing is known to have happened there."""


class Refused(Exception):
    """The provider refused the request (4xx): retrying the same request will not help."""


class Provider(Protocol):
    name: str
    currencies: frozenset[str]
    retry_finds_checkout: bool  # a retry of a creation finds the first try (no second charge)
    lists_refunds: bool  # its statement lists refunds (``refunds``), so reconciliation compares them

    def checkout(self, *, reference: str, amount: int, currency: str, description: str,
                 return_url: str, cancel_url: str) -> Checkout: ...

    def status(self, *, reference: str, provider_ref: str, amount: int, currency: str) -> ProviderStatus: ...

    def verify(self, *, headers: dict[str, str], body: bytes, query: dict[str, str]) -> Inbound: ...

    def refund(self, *, provider_ref: str, amount: int, currency: str, reference: str = "") -> None: ...

    def close(self, *, provider_ref: str) -> None:
        """Close an open checkout so that it can no longer be paid (``Refused`` if it is not open)."""

    def transactions(self, *, day: date) -> list[StatementLine]:
        """The payments the provider took on ``day`` (UTC), for reconciliation."""

    def refunds(self, *, day: date) -> list[StatementLine]:
        """The refunds the provider made on ``day`` (UTC), for reconciliation (``[]`` if it lists none)."""


def signature_matches(expected: str, candidates: list[str]) -> bool:
    """Whether any candidate equals ``expected``, each compared in constant time."""
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def header(headers: dict[str, str], name: str) -> str:
    """A header's value whatever its case ('' when absent)."""
    lowered = name.lower()
    return next((value for key, value in headers.items() if key.lower() == lowered), "")
