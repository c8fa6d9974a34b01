"""manage.py payments_reconcile: each provider's statement of a day against the ledger; one
mismatch of each kind planted (missing locally, missing at the provider, amount differs),
printed and flagged, never deleted, not flagged twice."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from coko.domains.payments import services
from coko.domains.payments.models import Flag, Payment
from coko.domains.payments.testing import book_bought, pass_paid

from .simulated import work_off

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def _reconcile(provider, day):
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_status:
        call_command("payments_reconcile", "--provider", provider, "--date", day, stdout=out)
    assert exit_status.value.code == 1
    return out.getvalue()


def test_wave_reconciliation_prints_and_flags_one_mismatch_of_each_kind(reader, book_for_sale, week_plan, wave):
    from coko.domains.accounts.testing import user_with_roles

    day = wave.clock.iso()[:10]
    # 1. paid at Wave, the webhook lost and not polled yet: missing locally
    lost = reader.post("/payment/subscribe", {"plan": "week", "provider": "wave"}).data
    wave.webhooks.drop_next()
    wave.approve(Payment.objects.get(order_id=lost["id"]).provider_ref)
    # 2. settled here, never at Wave: missing at the provider
    ghost = pass_paid(user_id=user_with_roles().user_id, plan_slug="week", provider="wave")
    # 3. paid both sides, but Wave's statement says another amount
    book = reader.post("/payment/purchase", {"book_id": book_for_sale["id"], "provider": "wave"}).data
    wave.approve(Payment.objects.get(order_id=book["id"]).provider_ref)
    work_off()
    wave.transactions[-1]["amount"] = "1499"

    printed = _reconcile("wave", day)
    assert "wave " + day + ": 3 mismatch(es)" in printed
    kinds = dict(Flag.objects.values_list("kind", "details__reference"))
    assert kinds == {"missing_locally": Payment.objects.get(order_id=lost["id"]).reference,
                     "missing_at_provider": Payment.objects.get(order=ghost).reference,
                     "amount_differs": Payment.objects.get(order_id=book["id"]).reference}
    assert Flag.objects.get(kind="amount_differs").details["provider"] == [1499, "XOF"]
    _reconcile("wave", day)  # run again: the same, not flagged twice
    assert Flag.objects.count() == 3


def test_orange_money_and_stripe_statements_reconcile(reader, book_for_sale, week_plan, orange, stripe_sim):
    day = orange.clock.iso()[:10]
    for provider, sim in (("orange_money", orange), ("stripe", stripe_sim)):
        order = reader.post("/payment/subscribe", {"plan": "week", "currency": "XOF", "provider": provider}).data
        ref = Payment.objects.get(order_id=order["id"]).provider_ref
        sim.approve(ref) if provider == "orange_money" else sim.approve_checkout(ref)
        work_off()
        assert services.reconcile(provider=provider, day=__import__("datetime").date.fromisoformat(day)) == []
    book_bought(user_id=reader.user_id, book_id=book_for_sale["id"], provider="stripe")  # never at Stripe
    printed = _reconcile("stripe", day)
    assert "missing_at_provider" in printed and Flag.objects.get().provider == "stripe"
