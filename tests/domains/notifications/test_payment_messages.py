"""What payments tell a reader, through the real path (payments' events, the notifications
handlers, the delivery worker, a real SMTP server): a receipt for each payment, in the
reader's language, with the amount as they read it; a reminder before a prepaid pass ends."""

from __future__ import annotations

import pytest

from coko.devtools.testing.events import deliver_pending
from coko.domains.accounts.testing import user_with_roles
from coko.domains.payments.testing import pass_paid, plan_for_test, subscriptions_lapse_for_test

from .conftest import deliver_all

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_a_payment_sends_its_receipt_in_the_readers_language(smtp):
    reader = user_with_roles(email="fatou@example.sn", preferred_language="fr")
    plan_for_test("week", prices={"XOF": 1500}, names={"fr": "Pass semaine", "en": "Week pass"})
    order = pass_paid(user_id=reader.user_id, plan_slug="week")
    deliver_pending(producer="payments", handler="notifications.send_receipt")
    deliver_all()
    [receipt] = smtp.to("fatou@example.sn")
    number = order.receipt.number
    assert receipt["Subject"] == f"Votre reçu Coko n° {number}"
    text = receipt.get_body(("plain",)).get_content()
    assert "Pass semaine" in text and "1\u202f500\u00a0FCFA" in text


def test_a_prepaid_pass_reminds_its_reader_before_it_ends(smtp, clock):
    reader = user_with_roles(email="moussa@example.sn", preferred_language="en")
    plan_for_test("week")
    pass_paid(user_id=reader.user_id, plan_slug="week")
    clock.advance(6 * 86400 + 60)
    assert subscriptions_lapse_for_test()["reminded"] == 1
    deliver_pending(producer="payments", handler="notifications.remind_pass_expiring")
    deliver_all()
    [reminder] = smtp.to("moussa@example.sn")
    assert reminder["Subject"].startswith("Your Coko pass ends on ")
    assert "does not renew by itself" in reminder.get_body(("plain",)).get_content()
