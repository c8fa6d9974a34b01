"""Receipts: one per paid order, numbered ``<year>-<sequence>`` without a gap in a year.

The year's counter row is locked and moved in the settling transaction: a rolled-back
settlement gives its number back, two settlements never share one.
"""

from __future__ import annotations

from coko.platform import clock

from ..models import Order, Receipt, ReceiptCounter
from ..values import receipt_number


def receipt_issue(*, order: Order, language: str = "fr") -> Receipt:
    """The receipt of ``order`` (its existing one if it has one); inside the caller's transaction."""
    existing = Receipt.objects.filter(order=order).first()
    if existing is not None:
        return existing
    year = clock.now().year
    ReceiptCounter.objects.get_or_create(year=year)
    counter = ReceiptCounter.objects.select_for_update().get(year=year)
    counter.last += 1
    counter.save(update_fields=["last"])
    return Receipt.objects.create(number=receipt_number(year=year, sequence=counter.last), order=order,
                                  user_id=order.user_id, language=language)
