"""Factories other domains' tests use to get paying readers: plans, passes, purchases.

    from coko.domains.payments.testing import plan_for_test, pass_paid, book_bought, sellable_books_sync

    sellable_books_sync()                               # payments hears the catalogue's book events
    collections_sync()                                  # … and its collections' (collection passes)
    plan = plan_for_test("week", prices={"XOF": 500})
    pass_paid(user_id=reader.user_id, plan_slug="week")  # a week pass, paid with Wave
    book_bought(user_id=reader.user_id, book_id=book["id"])

They go through the same use cases as a real payment (ledger, receipt, events); only the
provider's part is skipped.
"""

from __future__ import annotations

from coko.devtools.testing.events import deliver_pending

from . import services
from .models import Order, Plan, PlanPrice


def sellable_books_sync() -> int:
    """Apply the catalogue's pending ``book.*`` events to payments' list of sellable books."""
    return deliver_pending(producer="catalog", handler="payments.sellable_book_follow")


def collections_sync() -> int:
    """Apply the catalogue's pending ``collection.*`` events to payments' copy of its collections."""
    return deliver_pending(producer="catalog", handler="payments.collection_follow")


def plan_for_test(slug: str = "week", *, period: str = "week", prices: dict[str, int] | None = None,
                  scope: str = "subscription", collection_slug: str = "", names: dict[str, str] | None = None) -> Plan:
    """A plan on sale (500 XOF and 1,00 € by default); the existing one if ``slug`` exists."""
    plan, created = Plan.objects.get_or_create(slug=slug, defaults={
        "names": names or {"en": slug.title(), "fr": slug.title()}, "period": period, "scope": scope,
        "collection_slug": collection_slug})
    if created:
        for currency, amount in (prices or {"XOF": 500, "EUR": 100}).items():
            PlanPrice.objects.create(plan=plan, currency=currency, amount=amount)
    return plan


def _paid(order: Order, *, provider: str) -> Order:
    payment = services.payment_open(order_id=order.id, user_id=order.user_id, provider=provider)
    services.payment_settle(payment_id=payment.id, amount=order.amount, currency=order.currency)
    order.refresh_from_db()
    return order


def pass_paid(*, user_id, plan_slug: str = "week", currency: str = "XOF", provider: str = "wave") -> Order:
    """A paid order for one period of ``plan_slug`` (the plan must exist: ``plan_for_test``)."""
    return _paid(services.order_for_pass(user_id=user_id, plan_slug=plan_slug, currency=currency), provider=provider)


def subscriptions_lapse_for_test() -> dict[str, int]:
    """Run the passes' scheduled job once (reminders, grace, expiry) at the clock's time."""
    return services.subscriptions_lapse()


def book_bought(*, user_id, book_id, provider: str = "wave") -> Order:
    """A paid order for ``book_id`` at its price (a ``sale`` book payments knows: ``sellable_books_sync``)."""
    return _paid(services.order_for_book(user_id=user_id, book_id=book_id), provider=provider)
