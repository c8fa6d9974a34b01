"""Staff run the catalogue from the admin console: the same rules and events as the API."""

from __future__ import annotations

import pytest
from django.apps import apps

from coko.domains.accounts.testing import console_login

from .conftest import book_body

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


@pytest.fixture
def console(client):
    console_login(client)
    return client


def test_staff_publish_and_withdraw_from_the_console(console, author, anonymous):
    Book = apps.get_model("catalog", "Book")
    OutboxEvent = apps.get_model("catalog", "OutboxEvent")
    draft = author.post("/books", book_body()).data
    assert console.get("/admin/catalog/book/").status_code == 200
    assert console.get(f"/admin/catalog/book/{draft['id']}/change/").status_code == 200
    done = console.post("/admin/catalog/book/", {"action": "publish", "_selected_action": [draft["id"]]})
    assert done.status_code == 302
    assert Book.objects.get(id=draft["id"]).status == "published"
    assert anonymous.get(f"/books/{draft['id']}").status_code == 200
    console.post("/admin/catalog/book/", {"action": "withdraw", "_selected_action": [draft["id"]]})
    assert Book.objects.get(id=draft["id"]).status == "withdrawn"
    assert list(OutboxEvent.objects.order_by("id").values_list("type", flat=True)) == [
        "book.published", "book.withdrawn"]
    assert anonymous.get(f"/books/{draft['id']}").status_code == 404


def test_a_console_edit_is_announced_and_searchable(console, author, anonymous):
    Book = apps.get_model("catalog", "Book")
    draft = author.post("/books", book_body()).data
    console.post("/admin/catalog/book/", {"action": "publish", "_selected_action": [draft["id"]]})
    book = Book.objects.get(id=draft["id"])
    credit = book.credits.get()
    response = console.post(f"/admin/catalog/book/{book.id}/change/", {
        "title": "So Long a Letter", "subtitle": "", "description": "A letter.", "translations": "{}",
        "language": "en", "access_model": "free", "price_amount": "", "price_currency": "",
        "publication_date": "", "publication_year": "1979", "publisher": "", "series": "", "series_position": "",
        "rating_average": "0", "rating_count": "0", "popularity": "0", "external_ids": "{}",
        "credits-TOTAL_FORMS": "1", "credits-INITIAL_FORMS": "1", "credits-MIN_NUM_FORMS": "0",
        "credits-MAX_NUM_FORMS": "1000", "credits-0-id": str(credit.id), "credits-0-book": str(book.id),
        "credits-0-author": str(credit.author_id), "credits-0-role": "author", "credits-0-position": "0",
        "editions-TOTAL_FORMS": "0", "editions-INITIAL_FORMS": "0", "editions-MIN_NUM_FORMS": "0",
        "editions-MAX_NUM_FORMS": "1000",
    })
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert anonymous.get(f"/books/{book.id}").data["title"] == "So Long a Letter"
    updated = apps.get_model("catalog", "OutboxEvent").objects.filter(type="book.updated").get()
    assert updated.payload["title"] == "So Long a Letter"
    found = anonymous.get("/books/search?q=letter")
    assert [b["id"] for b in found.data["items"]] == [str(book.id)]
