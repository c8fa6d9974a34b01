"""Factories other domains' tests use: a reader's review of a book, through the HTTP API."""

from __future__ import annotations

from coko.devtools.testing.api import Api


def review_posted(reader: Api, *, book_id: str, rating: int = 4, text: str = "", language: str = "fr",
                  spoiler: bool = False) -> dict:
    """``reader`` rates (and reviews) ``book_id``, a published book; the review as the API answers it."""
    response = reader.post(f"/books/{book_id}/reviews", {"rating": rating, "text": text, "language": language,
                                                         "spoiler": spoiler})
    assert response.status_code == 201, response.content
    return response.data
