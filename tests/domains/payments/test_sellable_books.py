"""Payments keeps its own list of sellable books from the catalogue's events: no call to the
catalogue, the price and version an order quotes, a book withdrawn is no longer sold."""

from __future__ import annotations

import pytest

from coko.devtools.testing.events import outbox_events
from coko.domains.catalog.contracts import BookChanged
from coko.domains.catalog.testing import published_book
from coko.domains.payments import errors, services
from coko.domains.payments.models import SellableBook
from coko.domains.payments.testing import sellable_books_sync

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_a_book_for_sale_is_quoted_at_the_price_and_version_the_catalogue_announced(author, reader):
    book = published_book(author, access_model="sale", price_amount=1500, price_currency="XOF")
    assert sellable_books_sync() >= 1
    order = services.order_for_book(user_id=reader.user_id, book_id=book["id"])
    kept = SellableBook.objects.get(book_id=book["id"])
    assert (order.amount, order.currency, order.catalog_version) == (1500, "XOF", kept.catalog_version)

    assert author.patch(f"/books/{book['id']}", {"price_amount": 2000}).status_code == 200
    sellable_books_sync()
    later = services.order_for_book(user_id=reader.user_id, book_id=book["id"])
    assert (later.amount, later.catalog_version) == (2000, kept.catalog_version + 1)
    order.refresh_from_db()
    assert order.amount == 1500  # an order keeps the price it quoted


def test_a_withdrawn_or_free_or_unknown_book_is_not_sold(author, reader):
    sold = published_book(author, access_model="sale", price_amount=2, price_currency="EUR")
    free = published_book(author)
    sellable_books_sync()
    assert author.post(f"/books/{sold['id']}/withdraw", {"reason": "rights returned"}).status_code == 200
    sellable_books_sync()
    for book_id in (sold["id"], free["id"], "00000000-0000-4000-8000-000000000000"):
        with pytest.raises(Exception) as refused:
            services.order_for_book(user_id=reader.user_id, book_id=book_id)
        assert errors.BOOK_NOT_FOR_SALE.matches(refused.value)


def test_an_older_copy_of_a_book_does_not_overwrite_a_newer_one(author):
    book = published_book(author, access_model="sale", price_amount=1000, price_currency="XOF")
    author.patch(f"/books/{book['id']}", {"price_amount": 1200})
    sellable_books_sync()
    first = next(e for e in outbox_events("catalog") if e.aggregate_id == book["id"]).payload_as(BookChanged)
    assert services.sellable_book_apply(book=first) is False
    assert SellableBook.objects.get(book_id=book["id"]).price_amount == 1200
