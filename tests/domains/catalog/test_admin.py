"""Staff run the catalogue from the admin console: the same rules and events as the API."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.utils import timezone

from coko.devtools.testing.console import columns
from coko.devtools.testing.events import last_event
from coko.domains.accounts.testing import console_login

from .conftest import book_body

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def change_form(book, credit, **fields) -> dict:
    """The book's change form as the console posts it, ``fields`` overriding."""
    return {
        "title": book.title, "subtitle": "", "description": "", "language": book.language, "access_model": "free",
        "price_amount": "", "price_currency": "", "publication_date": "", "publication_year": "1979",
        "publisher": "", "series": "", "series_position": "", "external_ids": "{}", "editorial_boost": "0",
        **{f"{part}_{language}": "" for part in ("title", "subtitle", "description") for language in ("en", "fr")},
        "credits-TOTAL_FORMS": "1", "credits-INITIAL_FORMS": "1", "credits-MIN_NUM_FORMS": "0",
        "credits-MAX_NUM_FORMS": "1000", "credits-0-id": str(credit.id), "credits-0-book": str(book.id),
        "credits-0-author": str(credit.author_id), "credits-0-role": "author", "credits-0-position": "0",
        "editions-TOTAL_FORMS": "0", "editions-INITIAL_FORMS": "0", "editions-MIN_NUM_FORMS": "0",
        "editions-MAX_NUM_FORMS": "1000", **fields,
    }


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
    response = console.post(f"/admin/catalog/book/{book.id}/change/", change_form(
        book, credit, title="So Long a Letter", description="A letter.", language="en"))
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert anonymous.get(f"/books/{book.id}").data["title"] == "So Long a Letter"
    updated = apps.get_model("catalog", "OutboxEvent").objects.filter(type="book.updated").get()
    assert updated.payload["title"] == "So Long a Letter"
    found = anonymous.get("/books/search?q=letter")
    assert [b["id"] for b in found.data["items"]] == [str(book.id)]


def test_the_book_list_shows_authors_and_status_newest_edit_first_and_finds_by_author(console, author):
    Book = apps.get_model("catalog", "Book")
    older = author.post("/books", book_body(title="L'Aventure ambiguë", authors=["Cheikh Hamidou Kane"])).data
    newer = author.post("/books", book_body(title="Les Bouts de bois de Dieu", authors=["Ousmane Sembène"])).data
    Book.objects.filter(id=older["id"]).update(updated_at=timezone.now())  # edited last
    listing = console.get("/admin/catalog/book/")
    assert columns(listing)[:4] == ["title", "authors_column", "language", "status"]
    page = listing.content.decode()
    assert "Cheikh Hamidou Kane" in page and "Ousmane Sembène" in page
    assert page.index("L&#x27;Aventure ambiguë") < page.index("Les Bouts de bois de Dieu")
    found = console.get("/admin/catalog/book/", {"q": "Sembène"}).content.decode()
    assert "Les Bouts de bois de Dieu" in found and "ambiguë" not in found
    assert newer["id"] in found


def test_translations_are_edited_as_fields_per_language_and_saved_into_the_book(console, author):
    Book = apps.get_model("catalog", "Book")
    draft = author.post("/books", book_body(title="So Long a Letter", language="en")).data
    Book.objects.filter(id=draft["id"]).update(translations={"wo": {"title": "Bataaxal bu gudde"},
                                                             "fr": {"title": "Une lettre"}})
    book = Book.objects.get(id=draft["id"])
    page = console.get(f"/admin/catalog/book/{book.id}/change/").content.decode()
    assert 'name="title_fr"' in page and 'value="Une lettre"' in page and 'name="description_en"' in page
    assert 'name="translations"' not in page  # no raw JSON
    response = console.post(f"/admin/catalog/book/{book.id}/change/", change_form(
        book, book.credits.get(), title_fr="Une si longue lettre", description_fr="Ramatoulaye écrit."))
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Book.objects.get(id=book.id).translations == {
        "wo": {"title": "Bataaxal bu gudde"},  # a language the console does not offer is kept
        "fr": {"title": "Une si longue lettre", "description": "Ramatoulaye écrit."},
    }


def test_the_language_is_chosen_from_a_list_and_computed_fields_are_read_only(console, author):
    Book = apps.get_model("catalog", "Book")
    draft = author.post("/books", book_body(language="wo")).data
    Book.objects.filter(id=draft["id"]).update(popularity=42, rating_count=3, rating_average="4.50")
    book = Book.objects.get(id=draft["id"])
    page = console.get(f"/admin/catalog/book/{book.id}/change/").content.decode()
    assert '<select name="language"' in page and '<option value="wo" selected>wo — Wolof</option>' in page
    assert 'name="popularity"' not in page and 'name="rating_average"' not in page
    assert 'name="search_vector"' not in page
    refused = console.post(f"/admin/catalog/book/{book.id}/change/", change_form(book, book.credits.get(), language="zz"))
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    saved = console.post(f"/admin/catalog/book/{book.id}/change/", change_form(
        book, book.credits.get(), language="sw", popularity="999999", rating_average="1"))
    assert saved.status_code == 302
    book.refresh_from_db()
    assert (book.language, book.popularity, book.rating_count, str(book.rating_average)) == ("sw", 42, 3, "4.50")


def test_credits_are_named_after_their_author(console, author):
    draft = author.post("/books", book_body(authors=["Mariama Bâ"])).data
    page = console.get(f"/admin/catalog/book/{draft['id']}/change/").content.decode()
    assert "Mariama Bâ" in page and "BookAuthor object" not in page
    assert "Authors and other credits" in page


def test_staff_weigh_a_book_and_order_a_collection_from_the_console(console, author, anonymous):
    """Issue 11: the editorial boost shifts popularity by itself (seed and readers' activity kept);
    a collection is named per language and ordered by staff, and its readers see the change."""
    from coko.domains.catalog import services

    Book = apps.get_model("catalog", "Book")
    Collection = apps.get_model("catalog", "Collection")
    draft = author.post("/books", book_body()).data
    console.post("/admin/catalog/book/", {"action": "publish", "_selected_action": [draft["id"]]})
    Book.objects.filter(id=draft["id"]).update(popularity_seed=400, popularity=400)
    services.book_stats_set(book_id=draft["id"], popularity=25)
    book = Book.objects.get(id=draft["id"])
    response = console.post(f"/admin/catalog/book/{book.id}/change/",
                            change_form(book, book.credits.get(), editorial_boost="300"))
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Book.objects.get(id=book.id).popularity == 400 + 300 + 25

    other = author.post("/books", book_body(title="Les Soleils des indépendances")).data
    console.post("/admin/catalog/book/", {"action": "publish", "_selected_action": [other["id"]]})
    assert console.get("/admin/catalog/collection/").status_code == 200
    assert console.get("/admin/catalog/collection/add/").status_code == 200
    form = {"slug": "featured", "name": "Featured", "position": "0", "name_en": "", "name_fr": "À la une",
            "items-TOTAL_FORMS": "2", "items-INITIAL_FORMS": "0", "items-MIN_NUM_FORMS": "0",
            "items-MAX_NUM_FORMS": "1000", "items-0-position": "2", "items-0-book": draft["id"],
            "items-1-position": "1", "items-1-book": other["id"]}
    response = console.post("/admin/catalog/collection/add/", form)
    assert response.status_code == 302, response.content.decode()[-3000:]
    assert Collection.objects.get(slug="featured").translations == {"fr": "À la une"}
    page = anonymous.get("/collections/featured", HTTP_ACCEPT_LANGUAGE="fr")
    assert page.data["name"] == "À la une" and [b["id"] for b in page.data["items"]] == [other["id"], draft["id"]]
    collection = Collection.objects.get(slug="featured")
    assert console.get(f"/admin/catalog/collection/{collection.id}/change/").status_code == 200
    # announced in the console's transaction, all its books in their order (payments' collection passes)
    changed = last_event("catalog", "collection.changed")
    assert changed.aggregate_id == str(collection.id)
    assert (changed.payload["slug"], changed.payload["version"], changed.payload["book_ids"]) == (
        "featured", 1, [other["id"], draft["id"]])
    deleted = console.post(f"/admin/catalog/collection/{collection.id}/delete/", {"post": "yes"})
    assert deleted.status_code == 302 and not Collection.objects.filter(slug="featured").exists()
    gone = last_event("catalog", "collection.deleted")
    assert (gone.aggregate_id, gone.payload["version"], gone.payload["book_ids"]) == (str(collection.id), 2, [])
