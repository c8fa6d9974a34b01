"""A plan of scope ``collection`` opens the books of one catalogue collection, and only those:
payments learns a collection's books from the catalogue's ``collection.*`` events (delivered
through the real inbox path), keeps the newest version it heard, and answers ``has_access``
from that copy."""

from __future__ import annotations

import uuid

import pytest

from coko.devtools.testing.events import last_event, outbox_events
from coko.domains.catalog.testing import collection_with_books, collection_without_books, published_book
from coko.domains.payments import api
from coko.domains.payments.testing import collections_sync, pass_paid, plan_for_test, sellable_books_sync
from coko.platform.events import delivery

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.fixture
def shelf(author):
    """Three subscription books: two in the collection ``rentree``, one outside it; a book for sale in it."""
    books = {name: published_book(author, title=name, access_model="subscription")["id"]
             for name in ("inside", "also_inside", "outside")}
    books["for_sale"] = published_book(author, title="for sale", access_model="sale", price_amount=900,
                                       price_currency="XOF")["id"]
    books["rentree"] = collection_with_books("rentree", [books["inside"], books["also_inside"], books["for_sale"]])
    sellable_books_sync()
    collections_sync()
    return books


@pytest.fixture
def rentree_pass(reader):
    plan_for_test("rentree-week", scope="collection", collection_slug="rentree")
    pass_paid(user_id=reader.user_id, plan_slug="rentree-week")


def _access(user_id, book_id):
    found = api.has_access(user_id=user_id, book_id=book_id)
    return found.allowed, found.reason


def test_the_catalogue_announces_a_collection_s_books_with_a_growing_version(author):
    first, second = (published_book(author, title=t)["id"] for t in ("one", "two"))
    collection_id = collection_with_books("club", [first])
    collection_with_books("club", [second])
    collection_without_books("club", [first])
    changes = [e.payload for e in outbox_events("catalog", "collection.changed") if e.aggregate_id == collection_id]
    assert [(c["version"], c["book_ids"]) for c in changes] == [(1, []), (2, [first]), (3, [first, second]),
                                                               (4, [second])]
    assert last_event("catalog", "collection.changed").payload["slug"] == "club"


def test_a_collection_pass_opens_the_collection_s_books_and_no_other(reader, shelf, rentree_pass, clock):
    found = api.has_access(user_id=reader.user_id, book_id=shelf["inside"])
    assert (found.allowed, found.reason) == (True, "pass")
    assert abs((found.until - clock.now()).total_seconds() - 7 * 86400) < 5
    assert _access(reader.user_id, shelf["also_inside"]) == (True, "pass")
    assert _access(reader.user_id, shelf["outside"]) == (False, "outside_pass_scope")
    assert _access(reader.user_id, shelf["for_sale"]) == (False, "no_entitlement")  # sold on its own
    clock.advance(7 * 86400 + 1)
    assert _access(reader.user_id, shelf["inside"]) == (False, "no_entitlement")


def test_an_everything_pass_still_opens_every_subscription_book(reader, shelf, rentree_pass):
    plan_for_test("week")
    pass_paid(user_id=reader.user_id, plan_slug="week")
    assert _access(reader.user_id, shelf["outside"]) == (True, "pass")


def test_the_pass_follows_the_collection_as_staff_change_it(reader, shelf, rentree_pass):
    assert _access(reader.user_id, shelf["outside"]) == (False, "outside_pass_scope")  # now cached
    collection_with_books("rentree", [shelf["outside"]])
    collection_without_books("rentree", [shelf["inside"]])
    # not heard yet: payments answers from what it knows (the cache is not the reason)
    assert _access(reader.user_id, shelf["outside"]) == (False, "outside_pass_scope")
    assert collections_sync() == 2
    assert _access(reader.user_id, shelf["outside"]) == (True, "pass")
    assert _access(reader.user_id, shelf["inside"]) == (False, "outside_pass_scope")
    assert _access(reader.user_id, shelf["also_inside"]) == (True, "pass")
    assert collections_sync() == 0  # every event once


def test_a_late_copy_of_an_older_change_does_not_undo_a_newer_one(reader, shelf, rentree_pass):
    collection_without_books("rentree", [shelf["inside"]])
    collections_sync()
    assert _access(reader.user_id, shelf["inside"]) == (False, "outside_pass_scope")
    older = [e for e in outbox_events("catalog", "collection.changed") if shelf["inside"] in e.payload["book_ids"]][-1]
    late = {**older.to_dict(), "id": str(uuid.uuid4())}  # the same change, delivered again later
    delivery.apply_events(handler="payments.collection_follow", events=[late])
    assert _access(reader.user_id, shelf["inside"]) == (False, "outside_pass_scope")
    assert _access(reader.user_id, shelf["also_inside"]) == (True, "pass")


def test_a_collection_staff_delete_in_the_console_opens_nothing_more(client, reader, shelf, rentree_pass):
    from coko.domains.accounts.testing import console_login

    console_login(client)
    deleted = client.post(f"/admin/catalog/collection/{shelf['rentree']}/delete/", {"post": "yes"})
    assert deleted.status_code == 302, deleted.content.decode()[-2000:]
    gone = last_event("catalog", "collection.deleted")
    assert (gone.aggregate_id, gone.payload["book_ids"], gone.payload["deleted"]) == (shelf["rentree"], [], True)
    collections_sync()
    assert _access(reader.user_id, shelf["inside"]) == (False, "outside_pass_scope")
