"""Reconciliation: a provider's statement of a day against our ledger's payments of that day.

Three kinds of mismatch, each printed and recorded as a ``Flag`` for staff (never deleted; a
rerun does not flag the same thing twice while the first flag is open):

- ``missing_locally``: the provider took money we have not settled (a webhook lost and not
  polled yet, or a payment we never started);
- ``missing_at_provider``: we settled a payment the provider does not list that day;
- ``amount_differs``: both have it, for different amounts or currencies.

and, for a provider whose statement lists refunds (Wave, Stripe; Orange's are made by hand in
its portal), the refunds of the day against the ledger's refund entries of that day:

- ``refund_missing_locally``: the provider gave money back that our ledger still holds as paid
  (a refund made in the provider's dashboard, not through Coko);
- ``refund_missing_at_provider``: our ledger refunded a payment the provider did not refund;
- ``refund_amount_differs``: both refunded it, for different amounts or currencies.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q

from coko.platform.services import use_case

from .. import providers
from ..models import Flag, JournalEntry, Payment
from ..providers import StatementLine
from ._shared import DB

SETTLED = ("succeeded", "refunded")


@dataclass(frozen=True)
class Mismatch:
    kind: str  # missing_locally | missing_at_provider | amount_differs | refund_… (the same three, for refunds)
    reference: str
    provider_ref: str
    local: tuple[int, str] | None  # (amount, currency) in our ledger
    provider: tuple[int, str] | None  # … in the provider's statement


def reconcile(*, provider: str, day: date) -> list[Mismatch]:
    """Compare ``provider``'s statement of ``day`` (UTC) with our payments settled that day; the
    mismatches found, each recorded as a flag."""
    adapter = providers.provider_for(provider)
    lines = adapter.transactions(day=day)
    refunds = adapter.refunds(day=day) if adapter.lists_refunds else None
    return _compare_and_flag(provider=provider, day=day, lines=lines, refunds=refunds)


@use_case(DB)
def _compare_and_flag(*, provider: str, day: date, lines: list[StatementLine],
                      refunds: list[StatementLine] | None = None) -> list[Mismatch]:
    found = _payments_compared(provider=provider, day=day, lines=lines)
    if refunds is not None:
        found += _refunds_compared(provider=provider, day=day, lines=refunds)
    for mismatch in found:
        _flag_once(provider=provider, day=day, mismatch=mismatch)
    return found


def _named(provider: str, line: StatementLine, **filters) -> Payment | None:
    """Our payment the provider's line names (by our reference, else by its id), if any."""
    named = Q(reference=line.reference) if line.reference else Q(pk__in=[])
    named |= Q(provider_ref=line.provider_ref) if line.provider_ref else Q(pk__in=[])
    return Payment.objects.filter(named, provider=provider, **filters).first()


def _refunds_compared(*, provider: str, day: date, lines: list[StatementLine]) -> list[Mismatch]:
    start = datetime.combine(day, time(0), UTC)
    local = {entry.payment_id: entry.payment for entry in JournalEntry.objects.filter(
        kind="refund", payment__provider=provider, at__gte=start, at__lt=start + timedelta(days=1)).select_related("payment")}
    seen, found = set(), []
    for line in lines:
        payment = _named(provider, line)
        if payment is None or payment.status != "refunded":
            found.append(Mismatch("refund_missing_locally", payment.reference if payment else line.reference,
                                  line.provider_ref, None, (line.amount, line.currency)))
            continue
        seen.add(payment.id)  # refunded here (that day, or around midnight)
        if (payment.amount, payment.currency) != (line.amount, line.currency):
            found.append(Mismatch("refund_amount_differs", payment.reference, line.provider_ref or payment.provider_ref,
                                  (payment.amount, payment.currency), (line.amount, line.currency)))
    found += [Mismatch("refund_missing_at_provider", p.reference, p.provider_ref, (p.amount, p.currency), None)
              for payment_id, p in local.items() if payment_id not in seen]
    return found


def _payments_compared(*, provider: str, day: date, lines: list[StatementLine]) -> list[Mismatch]:
    start = datetime.combine(day, time(0), UTC)
    local = list(Payment.objects.filter(provider=provider, status__in=SETTLED, settled_at__gte=start,
                                        settled_at__lt=start + timedelta(days=1)))
    by_reference = {p.reference: p for p in local}
    by_provider_ref = {p.provider_ref: p for p in local if p.provider_ref}
    seen, found = set(), []
    for line in lines:
        payment = by_reference.get(line.reference) or by_provider_ref.get(line.provider_ref)
        if payment is None:  # settled another day (around midnight)?
            payment = _named(provider, line, status__in=SETTLED)
        if payment is None:
            found.append(Mismatch("missing_locally", line.reference, line.provider_ref, None,
                                  (line.amount, line.currency)))
            continue
        seen.add(payment.id)
        if (payment.amount, payment.currency) != (line.amount, line.currency):
            found.append(Mismatch("amount_differs", payment.reference, line.provider_ref or payment.provider_ref,
                                  (payment.amount, payment.currency), (line.amount, line.currency)))
    found += [Mismatch("missing_at_provider", p.reference, p.provider_ref, (p.amount, p.currency), None)
              for p in local if p.id not in seen]
    return found


def _flag_once(*, provider: str, day: date, mismatch: Mismatch) -> None:
    """Record ``mismatch`` for staff, unless the same one is flagged and still open."""
    details = {"day": day.isoformat(), **asdict(mismatch)}
    details["local"] = list(mismatch.local) if mismatch.local else None
    details["provider"] = list(mismatch.provider) if mismatch.provider else None
    if Flag.objects.filter(kind=mismatch.kind, provider=provider, resolved_at__isnull=True, details__day=details["day"],
                           details__reference=mismatch.reference,
                           details__provider_ref=mismatch.provider_ref).exists():
        return
    payment = Payment.objects.filter(provider=provider, reference=mismatch.reference).first() \
        if mismatch.reference else None
    Flag.objects.create(kind=mismatch.kind, provider=provider, payment=payment, details=details)
