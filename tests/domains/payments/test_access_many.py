"""``payments.api.has_access_many``: the answers of ``has_access`` for a page of books at once (the
catalogue's per-reader OPDS links), in a fixed number of queries, from the same versioned cache."""

from __future__ import annotations

import uuid

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from coko.domains.catalog.testing import collection_with_books, published_book
from coko.domains.payments import api
from coko.domains.payments.testing import book_bought, collections_sync, pass_paid, plan_for_test, sellable_books_sync

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

MODELS = ("free", "subscription", "sale")


@pytest.fixture
def sixty(author):
    """60 books: free, subscription (every other one in the collection ``club``) and for sale."""
    books = [published_book(author, title=f"Livre {n}", access_model=MODELS[n % 3],
                            **({"price_amount": 700, "price_currency": "XOF"} if n % 3 == 2 else {}))["id"]
             for n in range(60)]
    collection_with_books("club", [b for n, b in enumerate(books) if n % 3 == 1 and n % 2 == 0])
    sellable_books_sync()
    collections_sync()
    return books


@pytest.fixture
def member(reader, sixty):
    """A reader with a pass on ``club`` and two books bought."""
    plan_for_test("club-month", period="month", scope="collection", collection_slug="club")
    pass_paid(user_id=reader.user_id, plan_slug="club-month")
    for book_id in (sixty[2], sixty[5]):
        book_bought(user_id=reader.user_id, book_id=book_id)
    return reader


def _queries(call):
    with CaptureQueriesContext(connections["payments"]) as queries:
        found = call()
    return found, len(queries)


def test_many_answers_are_the_answers_one_by_one(member, sixty):
    unknown = str(uuid.uuid4())
    asked = [*sixty, unknown, "not-a-uuid"]
    many = api.has_access_many(user_id=member.user_id, book_ids=asked)
    assert list(many) == asked
    assert many == {book_id: api.has_access(user_id=member.user_id, book_id=book_id) for book_id in asked}
    reasons = {access.reason for access in many.values()}
    assert reasons == {"free", "pass", "outside_pass_scope", "purchase", "no_entitlement", "unknown_book"}
    assert many[sixty[4]].allowed and many[sixty[4]].until is not None  # in the club: until the pass ends
    anonymous = api.has_access_many(user_id=None, book_ids=sixty[:3])
    assert [a.reason for a in anonymous.values()] == ["free", "no_entitlement", "no_entitlement"]


def test_sixty_books_cost_the_queries_of_one_and_none_once_cached(member, sixty):
    one, one_queries = _queries(lambda: api.has_access_many(user_id=member.user_id, book_ids=[sixty[4]]))
    assert one[sixty[4]].reason == "pass"
    many, many_queries = _queries(lambda: api.has_access_many(user_id=member.user_id, book_ids=sixty))
    assert one_queries == many_queries == 4  # the books, the purchases, the passes, the collections
    again, cached_queries = _queries(lambda: api.has_access_many(user_id=member.user_id, book_ids=sixty))
    assert cached_queries == 0 and again == many


def test_a_new_entitlement_is_seen_by_the_next_batch(member, sixty):
    assert api.has_access_many(user_id=member.user_id, book_ids=[sixty[1]])[sixty[1]].reason == "outside_pass_scope"
    plan_for_test("week")
    pass_paid(user_id=member.user_id, plan_slug="week")
    assert api.has_access_many(user_id=member.user_id, book_ids=[sixty[1]])[sixty[1]].reason == "pass"
