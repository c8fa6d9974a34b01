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


def forum_for_test(*, slug: str = "general", fr: str = "Discussions", en: str = "General talk",
                   position: int = 0) -> dict:
    """A forum, as staff would create it in the console; its id, slug and names."""
    from . import services

    forum = services.forum_create(slug=slug, names={"fr": fr, "en": en}, position=position)
    return {"id": str(forum.id), "slug": forum.slug, "names": forum.names}


def topic_opened(reader: Api, *, forum_id: str, title: str = "Vos lectures du mois",
                 body: str = "Qu’avez-vous lu ?") -> dict:
    """``reader`` opens a topic in ``forum_id``; the topic as the API answers it."""
    response = reader.post("/community/topics", {"forum_id": forum_id, "title": title, "body": body})
    assert response.status_code == 201, response.content
    return response.data
