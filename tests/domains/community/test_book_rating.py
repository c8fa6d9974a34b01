"""The catalogue's rating of a book follows its reviews through the community's handler:
recomputed from the community's own rows (a replay changes nothing), right under concurrency."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connections

from coko.devtools.testing.events import deliver_pending, outbox_events
from coko.domains.community import contracts, services
from coko.platform.events import delivery

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

HANDLER = "community.book_rating_follow"
WORKERS = 25  # threads, each with its own PostgreSQL connections


def _catalogue_rating(book_id) -> dict:
    with connections["catalog"].cursor() as cursor:  # the catalogue's row, as its lists read it
        cursor.execute("SELECT rating_average, rating_count FROM catalog_book WHERE id = %s", [book_id])
        average, count = cursor.fetchone()
    return {"average": average, "count": count}


def test_posting_editing_and_deleting_reviews_moves_the_catalogues_rating(reader, other_reader, visitor, book):
    mine = reader.post(f"/books/{book['id']}/reviews", {"rating": 5}).data
    other_reader.post(f"/books/{book['id']}/reviews", {"rating": 2})
    assert deliver_pending(producer="community", handler=HANDLER) == 2
    assert _catalogue_rating(book["id"]) == {"average": Decimal("3.50"), "count": 2}

    reader.patch(f"/community/reviews/{mine['id']}", {"rating": 3})
    deliver_pending(producer="community", handler=HANDLER)
    assert _catalogue_rating(book["id"]) == {"average": Decimal("2.50"), "count": 2}

    reader.delete(f"/community/reviews/{mine['id']}")
    deliver_pending(producer="community", handler=HANDLER)
    assert _catalogue_rating(book["id"]) == {"average": Decimal("2.00"), "count": 1}
    assert visitor.get(f"/books/{book['id']}").data["rating"] == {"average": 2.0, "count": 1}


def test_the_last_review_deleted_leaves_the_book_unrated(reader, visitor, book):
    review = reader.post(f"/books/{book['id']}/reviews", {"rating": 4}).data
    reader.delete(f"/community/reviews/{review['id']}")
    assert deliver_pending(producer="community", handler=HANDLER) == 2
    assert visitor.get(f"/books/{book['id']}").data["rating"] == {"average": None, "count": 0}


def test_an_event_applied_again_changes_nothing(reader, other_reader, book):
    reader.post(f"/books/{book['id']}/reviews", {"rating": 5})
    other_reader.post(f"/books/{book['id']}/reviews", {"rating": 4})
    deliver_pending(producer="community", handler=HANDLER)
    before = _catalogue_rating(book["id"])
    for event in outbox_events("community", contracts.REVIEW_POSTED):  # replayed past the inbox
        services.book_rating_sync(book_id=event.payload_as(contracts.ReviewPosted).book_id)
    assert _catalogue_rating(book["id"]) == before == {"average": Decimal("4.50"), "count": 2}


def test_fifty_readers_reviewing_one_book_at_once_leave_the_right_aggregate(book):
    ratings = [(n % 5) + 1 for n in range(50)]
    ready = threading.Barrier(WORKERS)  # posts start WORKERS at a time, together (50 = 2 rounds)

    def post(rating: int) -> None:
        try:
            ready.wait(timeout=30)
            services.review_post(user_id=uuid.uuid4(), book_id=book["id"], rating=rating, language="fr")
        finally:
            connections.close_all()

    def deliver(event) -> None:  # each event through the real delivery path, concurrently
        try:
            delivery.apply_events(handler=HANDLER, events=[event.to_dict()])
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(post, ratings))
    events = outbox_events("community", contracts.REVIEW_POSTED)
    assert len(events) == 50
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        list(pool.map(deliver, events))

    expected = Decimal(sum(ratings) / 50).quantize(Decimal("0.01"))
    assert _catalogue_rating(book["id"]) == {"average": expected, "count": 50}
    assert deliver_pending(producer="community", handler=HANDLER) == 0  # every event took effect once
