"""``payments.api.has_access``: the door every domain asks before a download or a sync."""

from __future__ import annotations

import pytest

from coko.domains.catalog.testing import published_book
from coko.domains.payments import api, services
from coko.domains.payments.testing import book_bought, pass_paid, plan_for_test, sellable_books_sync

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.fixture
def books(author):
    made = {"free": published_book(author),
            "subscription": published_book(author, access_model="subscription"),
            "sale": published_book(author, access_model="sale", price_amount=300, price_currency="EUR")}
    sellable_books_sync()
    return {kind: book["id"] for kind, book in made.items()}


def _access(user_id, book_id):
    found = api.has_access(user_id=user_id, book_id=book_id)
    return found.allowed, found.reason


def test_a_free_book_is_open_to_everyone_and_the_others_to_nobody_yet(reader, books):
    assert _access(None, books["free"]) == (True, "free")
    assert _access(reader.user_id, books["free"]) == (True, "free")
    assert _access(None, books["subscription"]) == (False, "no_entitlement")
    assert _access(reader.user_id, books["subscription"]) == (False, "no_entitlement")
    assert _access(reader.user_id, books["sale"]) == (False, "no_entitlement")
    assert _access(reader.user_id, "00000000-0000-4000-8000-000000000000") == (False, "unknown_book")


def test_a_pass_opens_the_subscription_books_until_it_ends_but_not_the_books_for_sale(reader, books, clock):
    plan_for_test("week")
    pass_paid(user_id=reader.user_id, plan_slug="week")
    found = api.has_access(user_id=reader.user_id, book_id=books["subscription"])
    assert (found.allowed, found.reason) == (True, "pass")
    assert abs((found.until - clock.now()).total_seconds() - 7 * 86400) < 5
    assert _access(reader.user_id, books["sale"]) == (False, "no_entitlement")
    clock.advance(7 * 86400 + 1)
    assert _access(reader.user_id, books["subscription"]) == (False, "no_entitlement")


def test_a_bought_book_stays_readable_after_the_catalogue_withdraws_it(reader, author, books):
    book_bought(user_id=reader.user_id, book_id=books["sale"])
    assert author.post(f"/books/{books['sale']}/withdraw", {"reason": "rights returned"}).status_code == 200
    sellable_books_sync()
    assert _access(reader.user_id, books["sale"]) == (True, "purchase")
    assert _access(reader.user_id, books["free"]) == (True, "free")
    with pytest.raises(Exception):
        services.order_for_book(user_id=reader.user_id, book_id=books["sale"])


def test_entitlements_list_the_purchases_and_live_passes(reader, books):
    plan_for_test("month", period="month")
    pass_paid(user_id=reader.user_id, plan_slug="month")
    book_bought(user_id=reader.user_id, book_id=books["sale"])
    kinds = sorted((e.kind, e.book_id or e.plan_slug) for e in api.entitlements(user_id=reader.user_id))
    assert kinds == [("pass", "month"), ("purchase", books["sale"])]


def test_the_demo_plans_are_on_sale_in_francs_cfa_first_and_load_twice_without_change(anonymous_api):
    from coko.domains.payments import demo

    assert demo.load(stdout=None) == 4
    assert demo.load(stdout=None) == 0
    plans = anonymous_api.get("/payment/plans", HTTP_ACCEPT_LANGUAGE="fr").data
    assert [p["slug"] for p in plans] == ["day", "week", "month", "year"]
    week = plans[1]
    assert week["name"] == "Pass semaine"
    assert [(p["currency"], p["amount"], p["display"]) for p in week["prices"]][:2] == [
        ("XOF", 500, "500\u00a0FCFA"), ("EUR", 99, "0,99\u00a0€")]
