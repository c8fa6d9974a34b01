"""A reader rates and reviews a book they can see: once per book, edited and deleted by its
author only, found helpful by others; each change is a typed event in the same transaction."""

from __future__ import annotations

import pytest

from coko.devtools.testing.events import outbox_events
from coko.domains.catalog.testing import book_body
from coko.domains.community import contracts
from coko.domains.community.models import Review

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def _code(response) -> str:
    return response.data["error"]["code"]


def test_a_reader_reviews_a_published_book_and_the_event_says_so(reader, book):
    response = reader.post(f"/books/{book['id']}/reviews",
                           {"rating": 5, "text": "Un classique.", "language": "fr", "spoiler": False})
    assert response.status_code == 201, response.data
    review = response.data
    assert (review["rating"], review["text"], review["language"], review["user_id"]) == (
        5, "Un classique.", "fr", reader.user_id)
    assert review["helpful_count"] == 0 and review["edited"] is False
    [event] = outbox_events("community", contracts.REVIEW_POSTED)
    posted = event.payload_as(contracts.ReviewPosted)
    assert (posted.review_id, posted.book_id, posted.rating, posted.has_text) == (
        review["id"], book["id"], 5, True)
    assert event.aggregate_id == book["id"]


def test_the_language_defaults_to_the_requests(reader, book):
    response = reader.post(f"/books/{book['id']}/reviews", {"rating": 3}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 201 and response.data["language"] == "en"


def test_one_review_per_reader_per_book(reader, book):
    first = reader.post(f"/books/{book['id']}/reviews", {"rating": 4})
    again = reader.post(f"/books/{book['id']}/reviews", {"rating": 2})
    assert again.status_code == 409 and _code(again) == "review_already_posted"
    assert again.data["error"]["details"] == {"book_id": book["id"], "review_id": first.data["id"]}
    assert Review.objects.filter(book_id=book["id"]).count() == 1
    assert len(outbox_events("community", contracts.REVIEW_POSTED)) == 1


def test_a_book_readers_cannot_see_cannot_be_reviewed(reader, author):
    draft = author.post("/books", book_body(title="Brouillon")).data
    withdrawn = author.post("/books", book_body(title="Retiré")).data
    author.post(f"/books/{withdrawn['id']}/publish")
    assert author.post(f"/books/{withdrawn['id']}/withdraw", {"reason": "rights returned"}).status_code == 200
    for book_id in (draft["id"], withdrawn["id"], "00000000-0000-4000-8000-000000000000"):
        response = reader.post(f"/books/{book_id}/reviews", {"rating": 4})
        assert response.status_code == 404 and _code(response) == "book_not_found", book_id
        assert reader.get(f"/books/{book_id}/reviews").status_code == 404
    assert not Review.objects.exists() and not outbox_events("community")


@pytest.mark.parametrize("body", [
    {"rating": 0}, {"rating": 6}, {"rating": 4.5}, {"rating": "5"}, {}, {"rating": 3, "language": "français"},
    {"rating": 3, "text": "x" * 20_001}, {"rating": 3, "spoiler": "maybe"},
])
def test_bad_input_is_refused_in_the_envelope_and_nothing_changes(reader, book, body):
    response = reader.post(f"/books/{book['id']}/reviews", body)
    assert response.status_code == 422, body
    assert set(response.data["error"]) == {"code", "message", "details"}
    assert not Review.objects.exists() and not outbox_events("community")


def test_a_review_longer_than_the_setting_is_refused(reader, book, settings):
    settings.COKO_COMMUNITY = {**settings.COKO_COMMUNITY, "REVIEW_MAX_CHARS": 100}
    response = reader.post(f"/books/{book['id']}/reviews", {"rating": 3, "text": "x" * 101})
    assert response.status_code == 422 and _code(response) == "review_too_long"
    assert response.data["error"]["details"] == {"limit": 100}


def test_the_service_refuses_a_rating_outside_one_to_five_too(reader, book):
    from coko.domains.community import errors, services

    for rating in (0, 6, True, 2.0):
        with pytest.raises(Exception) as refused:
            services.review_post(user_id=reader.user_id, book_id=book["id"], rating=rating, language="fr")
        assert errors.REVIEW_RATING_INVALID.matches(refused.value)
    assert not Review.objects.exists()


def test_html_in_a_review_is_kept_as_text_never_as_markup(reader, visitor, book):
    payload = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    created = reader.post(f"/books/{book['id']}/reviews", {"rating": 1, "text": payload})
    assert created.status_code == 201
    response = visitor.get(f"/books/{book['id']}/reviews")
    assert response["Content-Type"].startswith("application/json")
    assert response.data["items"][0]["text"] == payload  # plain text in JSON: the client escapes it


def test_the_author_edits_their_review_and_the_event_names_what_changed(reader, book, clock):
    review = reader.post(f"/books/{book['id']}/reviews", {"rating": 2, "text": "Bof."}).data
    clock.advance(60)
    response = reader.patch(f"/community/reviews/{review['id']}", {"rating": 4, "spoiler": True})
    assert response.status_code == 200
    assert (response.data["rating"], response.data["spoiler"], response.data["text"]) == (4, True, "Bof.")
    assert response.data["edited"] is True
    [event] = outbox_events("community", contracts.REVIEW_UPDATED)
    updated = event.payload_as(contracts.ReviewUpdated)
    assert (updated.rating, set(updated.changed)) == (4, {"rating", "spoiler"})

    same = reader.patch(f"/community/reviews/{review['id']}", {"rating": 4})
    assert same.status_code == 200
    assert len(outbox_events("community", contracts.REVIEW_UPDATED)) == 1  # nothing changed: no event


def test_only_its_author_edits_or_deletes_a_review(reader, other_reader, book):
    review = reader.post(f"/books/{book['id']}/reviews", {"rating": 5}).data
    edit = other_reader.patch(f"/community/reviews/{review['id']}", {"rating": 1})
    delete = other_reader.delete(f"/community/reviews/{review['id']}")
    assert (edit.status_code, delete.status_code) == (403, 403)
    assert Review.objects.get(id=review["id"]).rating == 5
    missing = reader.patch("/community/reviews/00000000-0000-4000-8000-000000000000", {"rating": 1})
    assert missing.status_code == 404 and _code(missing) == "review_not_found"
    bad = reader.patch(f"/community/reviews/{review['id']}", {"rating": 9})
    assert bad.status_code == 422 and Review.objects.get(id=review["id"]).rating == 5


def test_the_author_deletes_their_review_and_may_review_again(reader, book):
    review = reader.post(f"/books/{book['id']}/reviews", {"rating": 1}).data
    assert reader.delete(f"/community/reviews/{review['id']}").status_code == 204
    assert not Review.objects.exists()
    [event] = outbox_events("community", contracts.REVIEW_DELETED)
    assert event.payload_as(contracts.ReviewDeleted).review_id == review["id"]
    assert reader.get(f"/community/reviews/{review['id']}").status_code == 404
    assert reader.post(f"/books/{book['id']}/reviews", {"rating": 3}).status_code == 201


def test_helpful_votes_count_once_per_reader_and_never_ones_own(reader, other_reader, visitor, book):
    review = reader.post(f"/books/{book['id']}/reviews", {"rating": 4, "text": "Utile"}).data
    url = f"/community/reviews/{review['id']}/helpful"
    assert other_reader.put(url).data["helpful_count"] == 1
    assert other_reader.put(url).data["helpful_count"] == 1  # again: still one
    own = reader.put(url)
    assert own.status_code == 422 and _code(own) == "review_own_vote"
    assert visitor.put(url).status_code == 401
    assert visitor.get(f"/community/reviews/{review['id']}").data["helpful_count"] == 1
    assert other_reader.delete(url).data["helpful_count"] == 0
    assert other_reader.delete(url).data["helpful_count"] == 0


def test_posting_reviews_is_rate_limited_per_reader(reader, author, settings):
    from coko.domains.catalog.testing import published_book

    settings.COKO_COMMUNITY = {**settings.COKO_COMMUNITY, "REVIEW_RATE": (2, 3600)}
    books = [published_book(author, title=f"Livre {n}") for n in range(3)]
    assert [reader.post(f"/books/{b['id']}/reviews", {"rating": 3}).status_code for b in books] == [201, 201, 429]
    refused = reader.post(f"/books/{books[2]['id']}/reviews", {"rating": 3})
    assert int(refused["Retry-After"]) > 0
    assert Review.objects.count() == 2
