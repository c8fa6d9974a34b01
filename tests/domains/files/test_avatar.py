"""The avatar: an image its user uploaded, chosen through the files domain (which knows who
owns which file) and kept by accounts as the profile's ``avatar_file_id``. Any other id — none
such, someone else's image, a file that is not an image — gets the same refusal, so the
answer tells nothing about other people's files."""

from __future__ import annotations

import pytest

from .conftest import epub_bytes, image_bytes, send

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def choose(api, file_id: str):
    return api.put("/files/avatar", {"file_id": file_id})


def refused(response) -> dict:
    assert response.status_code == 422, response.data
    assert response.data["error"]["code"] == "avatar_invalid"
    return response.data["error"]


def test_an_image_of_ones_own_becomes_the_avatar(author):
    image = send(author, "/files/uploads", image_bytes(200, 200), name="me.jpg").data
    response = choose(author, image["id"])
    assert response.status_code == 200, response.data
    assert response.data == {"avatar_file_id": image["id"], "urls": image["urls"]}
    assert author.get("/auth/profile").data["avatar_file_id"] == image["id"]
    assert author.client.get(image["urls"]["small"]).status_code == 200


def test_someone_elses_image_a_missing_file_and_a_non_image_get_the_same_refusal(author, other_author):
    theirs = send(other_author, "/files/uploads", image_bytes(200, 200), name="them.jpg").data
    epub = send(author, "/files/uploads", epub_bytes(), name="book.epub").data
    answers = [refused(choose(author, file_id)) for file_id in
               (theirs["id"], "00000000-0000-4000-8000-000000000000", epub["id"])]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["details"] == {"field": "file_id"}
    assert author.get("/auth/profile").data["avatar_file_id"] is None


def test_the_same_bytes_as_someone_elses_image_make_ones_own(author, other_author):
    data = image_bytes(200, 200)
    theirs = send(other_author, "/files/uploads", data, name="them.jpg").data
    mine = send(author, "/files/uploads", data, name="me.jpg").data
    refused(choose(author, theirs["id"]))
    assert choose(author, mine["id"]).status_code == 200


def test_the_refusal_speaks_french(author):
    response = author.put("/files/avatar", {"file_id": "00000000-0000-4000-8000-000000000000"},
                          HTTP_ACCEPT_LANGUAGE="fr")
    assert refused(response)["message"].startswith("Un avatar doit être une image")


def test_choosing_an_avatar_needs_a_token(reader):
    assert type(reader)().put("/files/avatar", {"file_id": "00000000-0000-4000-8000-000000000000"}).status_code == 401
