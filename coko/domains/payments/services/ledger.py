"""The ledger: append-only, double-entry. An entry's lines sum to zero per currency, which
PostgreSQL checks when the transaction commits (``JournalLine``'s deferred trigger).

Accounts (one string each, ``<kind>[:<detail>]``):

=============================  =========================================================
``provider_clearing:<p>``      what provider ``p`` holds for us (debited when a reader pays)
``revenue:pass`` / ``:book``   what we earned, by product
``refunds:pass`` / ``:book``   what we gave back, by product
``royalty_liability``          what we owe authors (publishing posts to it)
=============================  =========================================================
"""

from __future__ import annotations

from collections import defaultdict

from coko.platform import clock

from ..models import JournalEntry, JournalLine, Order, Payment


class Unbalanced(ValueError):
    """Lines that do not sum to zero in each currency (refused before PostgreSQL would)."""


def journal_post(*, kind: str, lines: list[tuple[str, int, str]], order: Order | None = None,
                 payment: Payment | None = None, memo: str = "") -> JournalEntry:
    """One entry of ``lines`` (``(account, amount, currency)``, debit positive); inside the
    caller's transaction."""
    totals: dict[str, int] = defaultdict(int)
    for _account, amount, currency in lines:
        totals[currency] += amount
    if len(lines) < 2 or any(totals.values()):
        raise Unbalanced(f"{kind}: lines {lines} do not balance")
    entry = JournalEntry.objects.create(kind=kind, order=order, payment=payment, memo=memo[:255], at=clock.now())
    JournalLine.objects.bulk_create([JournalLine(entry=entry, account=account, amount=amount, currency=currency)
                                     for account, amount, currency in lines if amount])
    return entry


def payment_post(*, payment: Payment) -> JournalEntry:
    """The provider holds the order's money; we earned it (inside the caller's transaction)."""
    order = payment.order
    return journal_post(kind="payment", order=order, payment=payment, lines=[
        (f"provider_clearing:{payment.provider}", order.amount, order.currency),
        (f"revenue:{order.kind}", -order.amount, order.currency),
    ])


def refund_post(*, payment: Payment, reason: str) -> JournalEntry:
    """The money goes back to the payer from the provider's balance (inside the caller's transaction)."""
    order = payment.order
    return journal_post(kind="refund", order=order, payment=payment, memo=reason, lines=[
        (f"refunds:{order.kind}", order.amount, order.currency),
        (f"provider_clearing:{payment.provider}", -order.amount, order.currency),
    ])

