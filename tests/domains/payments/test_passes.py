"""Passes: stacked end to end, cancelled to the end of their period, reminded, lapsed; codes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coko.devtools.testing.events import outbox_events
from coko.domains.payments import contracts, errors, services
from coko.domains.payments.models import Subscription
from coko.domains.payments.testing import pass_paid, plan_for_test

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_a_pass_bought_on_a_live_one_starts_where_it_ends(reader, clock):
    plan_for_test("week")
    plan_for_test("day", period="day", prices={"XOF": 150})
    pass_paid(user_id=reader.user_id, plan_slug="week")
    pass_paid(user_id=reader.user_id, plan_slug="day")
    week, day = Subscription.objects.order_by("created_at")
    assert day.starts_at == week.ends_at
    assert day.ends_at - clock.now() == timedelta(days=8)
    activated = [e.payload_as(contracts.SubscriptionActivated)
                 for e in outbox_events("payments", contracts.SUBSCRIPTION_ACTIVATED)]
    assert [a.ends_at for a in activated] == [week.ends_at, day.ends_at]


def test_a_cancelled_pass_stays_readable_to_the_end_then_expires(reader, clock):
    plan_for_test("week")
    pass_paid(user_id=reader.user_id, plan_slug="week")
    services.subscription_cancel(user_id=reader.user_id)
    with pytest.raises(Exception) as none_left:
        services.subscription_cancel(user_id=reader.user_id)
    assert errors.NO_SUBSCRIPTION.matches(none_left.value)
    assert services.subscriptions_lapse()["expired"] == 0
    clock.advance(7 * 86400)
    assert services.subscriptions_lapse()["expired"] == 1
    assert Subscription.objects.get().status == "expired"
    assert len(outbox_events("payments", contracts.SUBSCRIPTION_EXPIRED)) == 1


def test_a_prepaid_pass_reminds_its_reader_once_a_day_before_it_ends(reader, clock):
    plan_for_test("week")
    pass_paid(user_id=reader.user_id, plan_slug="week")
    assert services.subscriptions_lapse()["reminded"] == 0
    clock.advance(6 * 86400 + 60)
    assert services.subscriptions_lapse()["reminded"] == 1
    assert services.subscriptions_lapse()["reminded"] == 0
    assert len(outbox_events("payments", contracts.SUBSCRIPTION_EXPIRING)) == 1


def test_a_card_subscription_not_renewed_goes_through_grace_before_expiring(reader, clock):
    plan = plan_for_test("month", period="month")
    Subscription.objects.create(user_id=reader.user_id, plan=plan, status="active", source="stripe",
                                starts_at=clock.now(), ends_at=clock.now() + timedelta(days=30))
    clock.advance(30 * 86400 + 1)
    assert services.subscriptions_lapse() == {"reminded": 0, "grace": 1, "expired": 0}
    clock.advance(2 * 86400)
    assert services.subscriptions_lapse()["expired"] == 0
    clock.advance(86400)
    assert services.subscriptions_lapse()["expired"] == 1


def test_an_institution_code_opens_its_plan_once_per_reader_and_no_more_than_its_uses(reader, author, clock):
    from coko.domains.accounts.testing import user_with_roles

    plan_for_test("year", period="year")
    batch = services.code_batch_create(actor_id=author.user_id, organisation="Université Cheikh Anta Diop",
                                       plan_slug="year", count=3, uses_per_code=2)
    assert len(set(batch.codes)) == 3
    code = batch.codes[0]
    services.code_redeem(user_id=reader.user_id, code=code.lower().replace("-", " "))
    with pytest.raises(Exception) as twice:
        services.code_redeem(user_id=reader.user_id, code=code)
    assert errors.ACCESS_CODE_ALREADY_REDEEMED.matches(twice.value)
    services.code_redeem(user_id=user_with_roles().user_id, code=code)
    for tried in (code, "AAAA-BBBB-CCCC"):
        with pytest.raises(Exception) as refused:
            services.code_redeem(user_id=user_with_roles().user_id, code=tried)
        assert errors.ACCESS_CODE_INVALID.matches(refused.value)
    assert Subscription.objects.filter(source="code").count() == 2
