"""Staff in the console: every payments page opens; the ledger cannot be edited; a refund needs
a reason and goes through the use case; a code batch made in the console has working codes."""

from __future__ import annotations

import pytest
from django.test import Client

from coko.domains.accounts.testing import console_login
from coko.domains.catalog.testing import published_book
from coko.domains.payments import api, services
from coko.domains.payments.models import AccessCode, CodeBatch, JournalEntry, Order
from coko.domains.payments.testing import book_bought, pass_paid, plan_for_test, sellable_books_sync

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

PAGES = ["plan", "sellablebook", "order", "payment", "providerevent", "flag", "journalentry", "subscription",
         "codebatch"]


@pytest.fixture
def console():
    client = Client()
    console_login(client)
    return client


def test_every_payments_page_opens_with_data_in_it(console, reader, author):
    plan_for_test("week")
    pass_paid(user_id=reader.user_id, plan_slug="week")
    book = published_book(author, access_model="sale", price_amount=1500, price_currency="XOF")
    sellable_books_sync()
    book_bought(user_id=reader.user_id, book_id=book["id"])
    for page in PAGES:
        listing = console.get(f"/admin/payments/{page}/")
        assert listing.status_code == 200, page
    entry = JournalEntry.objects.first()
    detail = console.get(f"/admin/payments/journalentry/{entry.id}/change/")
    assert detail.status_code == 200 and b"revenue:pass" in detail.content
    assert console.post(f"/admin/payments/journalentry/{entry.id}/delete/").status_code == 403
    order = Order.objects.filter(kind="book").get()
    assert b"1\xe2\x80\xaf500" in console.get("/admin/payments/order/").content  # 1 500 FCFA
    assert console.get(f"/admin/payments/order/{order.id}/change/").status_code == 200


def test_a_refund_from_the_console_needs_a_reason_and_a_provider_that_can_give_the_money_back(
        console, reader, author):
    book = published_book(author, access_model="sale", price_amount=1500, price_currency="XOF")
    sellable_books_sync()
    order = book_bought(user_id=reader.user_id, book_id=book["id"])  # paid with Wave, not configured here
    console.post("/admin/payments/order/", {"action": "refund", "_selected_action": [str(order.id)], "reason": ""})
    order.refresh_from_db()
    assert order.status == "paid"
    console.post("/admin/payments/order/", {"action": "refund", "_selected_action": [str(order.id)],
                                            "reason": "bought by mistake"})
    order.refresh_from_db()
    # Wave is not configured in this test: the refund is refused until it is (nothing changes)
    assert order.status == "paid"
    assert api.has_access(user_id=reader.user_id, book_id=book["id"]).allowed


def test_a_code_batch_made_in_the_console_opens_its_plan(console, reader):
    plan = plan_for_test("year", period="year")
    response = console.post("/admin/payments/codebatch/add/", {
        "organisation": "Lycée Blaise Diagne", "plan": str(plan.id), "count": "5", "uses_per_code": "1",
        "expires_at_0": "", "expires_at_1": ""})
    assert response.status_code == 302, response.content[:2000]
    batch = CodeBatch.objects.get()
    assert batch.codes.count() == 5
    page = console.get(f"/admin/payments/codebatch/{batch.id}/change/")
    code = AccessCode.objects.filter(batch=batch).first().code
    assert code.encode() in page.content
    services.code_redeem(user_id=reader.user_id, code=code)
    assert [e.kind for e in api.entitlements(user_id=reader.user_id)] == ["institution"]
