"""Demo plans: the passes a new install sells, priced the way readers in Dakar and Abidjan buy
reading (YouScribe's 150 FCFA day pass and 500 FCFA week pass are the reference), with euro and
dollar prices for readers abroad. Run by ``manage.py load_demo_data``; idempotent: a plan that
exists (by its slug) is left as staff edited it.
"""

from __future__ import annotations

from django.db import transaction

from .models import Plan, PlanPrice

PLANS = [
    # slug, period, names, prices (integer minor units: XOF has none; EUR and USD cents)
    ("day", "day", {"fr": "Pass jour", "en": "Day pass"}, {"XOF": 150, "EUR": 30, "USD": 30}),
    ("week", "week", {"fr": "Pass semaine", "en": "Week pass"}, {"XOF": 500, "EUR": 99, "USD": 99}),
    ("month", "month", {"fr": "Pass mois", "en": "Month pass"}, {"XOF": 2000, "EUR": 399, "USD": 399}),
    ("year", "year", {"fr": "Pass année", "en": "Year pass"}, {"XOF": 15000, "EUR": 2999, "USD": 2999}),
]


def load(*, stdout) -> int:
    created = 0
    with transaction.atomic(using="payments"):
        for position, (slug, period, names, prices) in enumerate(PLANS):
            plan, made = Plan.objects.get_or_create(slug=slug, defaults={
                "period": period, "names": names, "scope": "subscription", "position": position})
            if made:
                PlanPrice.objects.bulk_create([PlanPrice(plan=plan, currency=c, amount=a) for c, a in prices.items()])
                created += 1
    return created
