"""The ledger is append-only and double-entry, and PostgreSQL holds it to that, not only Python."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, connections, transaction

from coko.domains.payments import selectors, services
from coko.domains.payments.models import JournalEntry, JournalLine
from coko.domains.payments.testing import pass_paid, plan_for_test

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_an_entry_whose_lines_do_not_balance_is_refused_by_postgresql_at_commit():
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic(using="payments"):
        entry = JournalEntry.objects.create(kind="payment")
        JournalLine.objects.create(entry=entry, account="provider_clearing:wave", currency="XOF", amount=500)
        JournalLine.objects.create(entry=entry, account="revenue:pass", currency="XOF", amount=-499)
    assert not JournalEntry.objects.exists() and not JournalLine.objects.exists()


def test_lines_balance_per_currency_not_across_currencies():
    with pytest.raises(IntegrityError), transaction.atomic(using="payments"):
        entry = JournalEntry.objects.create(kind="payment")
        JournalLine.objects.create(entry=entry, account="provider_clearing:stripe", currency="EUR", amount=100)
        JournalLine.objects.create(entry=entry, account="revenue:book", currency="XOF", amount=-100)
    with pytest.raises(services.Unbalanced), transaction.atomic(using="payments"):
        services.journal_post(kind="payment", lines=[("a", 100, "EUR"), ("b", -100, "XOF")])


def test_posted_lines_cannot_be_changed_or_deleted(reader):
    plan_for_test("week")
    pass_paid(user_id=reader.user_id, plan_slug="week")
    line = JournalLine.objects.first()
    for statement in (f"UPDATE payments_journalline SET amount = 1 WHERE id = {line.id}",
                      f"DELETE FROM payments_journalline WHERE id = {line.id}",
                      f"DELETE FROM payments_journalentry WHERE id = {line.entry_id}"):
        with pytest.raises(DatabaseError, match="Cannot update or delete"), transaction.atomic(using="payments"):
            with connections["payments"].cursor() as cursor:
                cursor.execute(statement)
    assert JournalLine.objects.filter(id=line.id, amount=line.amount).exists()


def test_a_paid_pass_moves_its_price_from_the_providers_clearing_account_to_revenue(reader):
    plan_for_test("week", prices={"XOF": 500})
    pass_paid(user_id=reader.user_id, plan_slug="week", provider="orange_money")
    pass_paid(user_id=reader.user_id, plan_slug="week", provider="wave")
    assert selectors.ledger_balances() == {
        ("provider_clearing:orange_money", "XOF"): 500, ("provider_clearing:wave", "XOF"): 500,
        ("revenue:pass", "XOF"): -1000}
