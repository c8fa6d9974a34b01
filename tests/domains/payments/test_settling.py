"""Settling a payment: granted once, whatever the provider repeats; a wrong amount is flagged,
not granted; a late payment is honoured; a refund reverses the ledger and the entitlement;
receipts are numbered without a gap."""

from __future__ import annotations

import io
import threading

import pytest
from django.db import connections
from pypdf import PdfReader

from coko.devtools.testing.events import outbox_events
from coko.domains.catalog.testing import published_book
from coko.domains.payments import api, contracts, errors, selectors, services
from coko.domains.payments.models import Flag, Purchase, Receipt
from coko.domains.payments.testing import plan_for_test, sellable_books_sync

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.fixture
def book_for_sale(author):
    book = published_book(author, access_model="sale", price_amount=1500, price_currency="XOF")
    sellable_books_sync()
    return book


def _open(order):
    return services.payment_open(order_id=order.id, user_id=order.user_id, provider="wave")


def test_a_payment_confirmed_twice_grants_once(reader, book_for_sale):
    order = services.order_for_book(user_id=reader.user_id, book_id=book_for_sale["id"])
    payment = _open(order)
    first = services.payment_settle(payment_id=payment.id, amount=1500, currency="XOF")
    again = services.payment_settle(payment_id=payment.id, amount=1500, currency="XOF")
    assert (first.outcome, again.outcome) == ("granted", "already")
    assert Purchase.objects.filter(user_id=reader.user_id).count() == 1
    assert len(outbox_events("payments", contracts.BOOK_PURCHASED)) == 1
    assert selectors.ledger_balances(account_prefix="revenue") == {("revenue:book", "XOF"): -1500}
    assert api.has_access(user_id=reader.user_id, book_id=book_for_sale["id"]).reason == "purchase"


def test_an_amount_or_currency_that_differs_from_the_order_is_flagged_and_not_granted(reader, book_for_sale):
    order = services.order_for_book(user_id=reader.user_id, book_id=book_for_sale["id"])
    payment = _open(order)
    assert services.payment_settle(payment_id=payment.id, amount=15, currency="XOF").outcome == "mismatch"
    assert services.payment_settle(payment_id=payment.id, amount=1500, currency="EUR").outcome == "mismatch"
    assert Flag.objects.filter(kind="amount_mismatch", payment=payment).count() == 2
    assert not api.has_access(user_id=reader.user_id, book_id=book_for_sale["id"]).allowed
    assert not selectors.ledger_balances() and not outbox_events("payments")


def test_an_order_nobody_pays_expires_and_a_late_payment_is_still_honoured_and_flagged(reader, book_for_sale, clock):
    order = services.order_for_book(user_id=reader.user_id, book_id=book_for_sale["id"])
    payment = _open(order)
    clock.advance(31 * 60)
    assert services.orders_expire() == 1
    order.refresh_from_db()
    assert order.status == "expired"
    with pytest.raises(Exception) as refused:
        _open(order)
    assert errors.ORDER_NOT_PAYABLE.matches(refused.value)
    assert services.payment_settle(payment_id=payment.id, amount=1500, currency="XOF").outcome == "granted"
    assert Flag.objects.filter(kind="paid_after_close", payment=payment).exists()


def test_a_failed_payment_cancels_its_order(reader, book_for_sale):
    order = services.order_for_book(user_id=reader.user_id, book_id=book_for_sale["id"])
    payment = _open(order)
    services.payment_fail(payment_id=payment.id, status="failed", reason="insufficient funds")
    order.refresh_from_db()
    assert (order.status, order.closed_reason) == ("cancelled", "payment_failed")


def test_a_refund_reverses_the_ledger_and_takes_the_book_back(reader, book_for_sale, author):
    order = services.order_for_book(user_id=reader.user_id, book_id=book_for_sale["id"])
    payment = _open(order)
    services.payment_settle(payment_id=payment.id, amount=1500, currency="XOF")
    services.order_refund(order_id=order.id, reason="duplicate", actor_id=author.user_id)
    assert not api.has_access(user_id=reader.user_id, book_id=book_for_sale["id"]).allowed
    assert selectors.ledger_balances(account_prefix="provider_clearing") == {("provider_clearing:wave", "XOF"): 0}
    assert selectors.ledger_balances(account_prefix="refunds") == {("refunds:book", "XOF"): 1500}
    revoked = outbox_events("payments", contracts.ENTITLEMENT_REVOKED)[0].payload_as(contracts.EntitlementRevoked)
    assert revoked.book_id == book_for_sale["id"]
    with pytest.raises(Exception) as refused:
        services.order_refund(order_id=order.id, reason="again", actor_id=author.user_id)
    assert errors.REFUND_NOT_POSSIBLE.matches(refused.value)
    # bought again after the refund: a new purchase is allowed
    again = services.order_for_book(user_id=reader.user_id, book_id=book_for_sale["id"])
    assert again.amount == 1500


def test_receipts_are_numbered_without_a_gap_when_many_settle_at_once(reader):
    plan_for_test("day", period="day", prices={"XOF": 150})
    payments = [_open(services.order_for_pass(user_id=reader.user_id, plan_slug="day", currency="XOF"))
                for _ in range(12)]
    failures = []

    def settle(payment):
        try:
            services.payment_settle(payment_id=payment.id, amount=150, currency="XOF")
        except Exception as exc:  # pragma: no cover - reported below
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=settle, args=(p,)) for p in payments]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    numbers = sorted(Receipt.objects.values_list("number", flat=True))
    year = numbers[0][:4]
    assert numbers == [f"{year}-{n:06d}" for n in range(1, 13)]


def test_the_payer_downloads_the_receipt_as_a_pdf_in_their_language_and_nobody_else_can(reader, book_for_sale):
    from coko.domains.accounts.testing import user_with_roles

    order = services.order_for_book(user_id=reader.user_id, book_id=book_for_sale["id"])
    services.payment_settle(payment_id=_open(order).id, amount=1500, currency="XOF")
    number = Receipt.objects.get(order=order).number
    response = reader.get(f"/payment/orders/{order.id}/receipt.pdf", HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert f'filename="Coko-{number}.pdf"' in response["Content-Disposition"]
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert f"Reçu n° {number}" in text
    assert "1 500 FCFA" in text.replace("\u202f", " ").replace("\u00a0", " ")
    stranger = user_with_roles()
    assert stranger.get(f"/payment/orders/{order.id}/receipt.pdf").status_code == 404
    unpaid = services.order_for_book(user_id=stranger.user_id, book_id=book_for_sale["id"])
    assert stranger.get(f"/payment/orders/{unpaid.id}/receipt.pdf").data["error"]["code"] == "receipt_not_found"
