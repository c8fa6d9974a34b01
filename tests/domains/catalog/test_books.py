"""The catalogue over the API: who may write what, what readers see, and the events it tells."""

from __future__ import annotations

import pytest
from django.apps import apps

from .conftest import book_body, published

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def outbox(type_: str) -> list[dict]:
    rows = apps.get_model("catalog", "OutboxEvent").objects.filter(type=type_).order_by("id")
    return [row.payload for row in rows]


# --- writing ----------------------------------------------------------------------------------
def test_an_author_creates_a_draft_that_readers_cannot_see(author, reader, anonymous):
    created = author.post("/books", book_body(isbn="2-84261-030-X"))
    assert created.status_code == 201, created.data
    book = created.data
    assert book["status"] == "draft"
    assert book["authors"] == [{"id": book["authors"][0]["id"], "name": "Mariama Bâ", "role": "author"}]
    assert book["editions"][0]["isbn13"] == "9782842610302"  # ISBN-10 normalised to ISBN-13
    assert anonymous.get(f"/books/{book['id']}").status_code == 404
    assert reader.get(f"/books/{book['id']}").status_code == 404
    assert anonymous.get("/books").data["items"] == []
    assert author.get(f"/books/{book['id']}").status_code == 200  # the owner sees the draft
    assert [b["id"] for b in author.get("/books/mine").data] == [book["id"]]
    assert outbox("book.published") == []


def test_a_reader_cannot_create_publish_or_withdraw(author, reader):
    assert reader.post("/books", book_body()).status_code == 403
    draft = author.post("/books", book_body()).data
    assert reader.post(f"/books/{draft['id']}/publish").status_code == 403
    assert reader.patch(f"/books/{draft['id']}", {"title": "x"}).status_code == 403


def test_an_author_edits_only_their_own_books(author, other_author, staff):
    draft = author.post("/books", book_body()).data
    refused = other_author.patch(f"/books/{draft['id']}", {"title": "Volé"})
    assert refused.status_code == 403
    assert refused.data["error"]["code"] == "not_your_book"
    assert other_author.post(f"/books/{draft['id']}/publish").status_code == 403
    assert staff.patch(f"/books/{draft['id']}", {"subtitle": "Roman"}).status_code == 200  # staff edit any book
    assert author.get(f"/books/{draft['id']}").data["subtitle"] == "Roman"


def test_publishing_shows_the_book_and_announces_it(author, anonymous):
    book = published(author)
    assert book["status"] == "published" and book["version"] >= 2
    assert anonymous.get(f"/books/{book['id']}").status_code == 200
    [event] = outbox("book.published")
    assert event["book_id"] == book["id"] and event["status"] == "published" and event["language"] == "fr"
    assert event["owner_id"] == author.user_id
    again = author.post(f"/books/{book['id']}/publish")  # publishing twice changes nothing
    assert again.status_code == 200 and len(outbox("book.published")) == 1


def test_a_book_needs_an_author_to_be_published(author):
    draft = author.post("/books", book_body(authors=[])).data
    refused = author.post(f"/books/{draft['id']}/publish")
    assert refused.status_code == 422
    assert refused.data["error"]["details"] == {"missing": ["authors"]}


def test_updating_a_published_book_announces_the_new_version(author, anonymous):
    book = published(author)
    changed = author.patch(f"/books/{book['id']}", {"title": "So Long a Letter", "language": "en"})
    assert changed.status_code == 200, changed.data
    [event] = outbox("book.updated")
    assert event["title"] == "So Long a Letter" and event["version"] == changed.data["version"] > book["version"]
    assert anonymous.get(f"/books/{book['id']}").data["title"] == "So Long a Letter"


def test_withdrawing_hides_the_book(author, anonymous):
    book = published(author)
    withdrawn = author.post(f"/books/{book['id']}/withdraw", {"reason": "rights expired"})
    assert withdrawn.status_code == 200 and withdrawn.data["status"] == "withdrawn"
    assert anonymous.get(f"/books/{book['id']}").status_code == 404
    assert anonymous.get("/books").data["items"] == []
    assert [e["book_id"] for e in outbox("book.withdrawn")] == [book["id"]]
    assert author.post(f"/books/{book['id']}/withdraw", {}).status_code == 409  # only once


@pytest.mark.parametrize("fields, code", [
    ({"access_model": "sale"}, "invalid_price"),
    ({"access_model": "sale", "price_amount": 2500}, "invalid_price"),
    ({"access_model": "free", "price_amount": 2500, "price_currency": "XOF"}, "invalid_price"),
    ({"isbn": "978-2-84261-030-0"}, "invalid_isbn"),
    ({"isbn": "12345"}, "invalid_isbn"),
    ({"language": "french!"}, "invalid_language"),
    ({"categories": ["no-such-category"]}, "unknown_category"),
])
def test_bad_input_is_refused_and_changes_nothing(author, fields, code):
    refused = author.post("/books", book_body(**fields))
    assert refused.status_code == 422, refused.data
    assert refused.data["error"]["code"] == code
    assert apps.get_model("catalog", "Book").objects.count() == 0
    assert apps.get_model("catalog", "Author").objects.count() == 0


def test_validation_errors_use_the_envelope(author):
    refused = author.post("/books", {"title": "", "access_model": "rent"})
    assert refused.status_code == 422
    assert refused.data["error"]["code"] == "validation_error"


def test_an_isbn_belongs_to_one_book(author):
    author.post("/books", book_body(isbn="9782842610302"))
    refused = author.post("/books", book_body(title="Autre", isbn="284261030x"))
    assert refused.status_code == 409 and refused.data["error"]["code"] == "isbn_taken"


def test_prices_are_integer_minor_units_with_a_currency(author, anonymous):
    book = published(author, access_model="sale", price_amount=2500, price_currency="XOF")
    assert anonymous.get(f"/books/{book['id']}").data["price"] == {"amount": 2500, "currency": "XOF"}
    free = author.patch(f"/books/{book['id']}", {"access_model": "free"})
    assert free.status_code == 200 and free.data["price"] is None


def test_titles_and_descriptions_have_translations(author, anonymous):
    book = published(author, translations={"en": {"title": "So Long a Letter",
                                                  "description": "Ramatoulaye writes to her friend Aïssatou."}})
    english = anonymous.get(f"/books/{book['id']}", HTTP_ACCEPT_LANGUAGE="en")
    french = anonymous.get(f"/books/{book['id']}", HTTP_ACCEPT_LANGUAGE="fr")
    assert english.data["title"] == "So Long a Letter"
    assert french.data["title"] == "Une si longue lettre"
    assert english.data["translations"] == ["en"]


def test_credits_name_new_authors_or_existing_ones_by_id_in_a_role(author):
    first = author.post("/books", book_body(authors=["Mariama Bâ", {"name": "Aminata Sow Fall",
                                                                     "role": "translator"}])).data
    ba, sow_fall = first["contributors"]
    assert (ba["name"], ba["role"]) == ("Mariama Bâ", "author")
    assert (sow_fall["name"], sow_fall["role"]) == ("Aminata Sow Fall", "translator")
    assert first["authors"] == [ba]  # a translator is credited, not listed as an author
    second = author.post("/books", book_body(authors=[{"id": ba["id"], "name": "ignored", "role": "editor"},
                                                      "  Mariama   Bâ ", {"id": ba["id"], "role": "editor"}]))
    assert second.status_code == 201, second.data
    # one person, two roles; a repeat is dropped
    assert second.data["contributors"] == [{**ba, "role": "editor"}, ba]
    assert second.data["authors"] == [ba]
    unknown = author.post("/books", book_body(authors=[{"id": "00000000-0000-4000-8000-000000000000"}]))
    assert unknown.status_code == 422 and unknown.data["error"]["code"] == "unknown_author"
    assert unknown.data["error"]["details"] == {"id": "00000000-0000-4000-8000-000000000000"}
    nameless = author.post("/books", book_body(authors=[{"role": "author"}]))
    assert nameless.status_code == 422 and nameless.data["error"]["code"] == "invalid_author"
    bad_role = author.post("/books", book_body(authors=[{"name": "X", "role": "ghost"}]))
    assert bad_role.status_code == 422


def test_a_change_touches_only_what_it_sends_and_null_clears(author):
    book = author.post("/books", book_body(subtitle="Roman", series="Classiques", categories=[],
                                           translations={"EN": {"title": "So Long a Letter", "subtitle": ""}})).data
    assert book["translations"] == ["en"] and book["series"]["name"] == "Classiques"
    url = f"/books/{book['id']}"
    changed = author.patch(url, {"translations": {"wo": {"title": "Bataaxal bu gudd"}, "en": {"subtitle": ""}}})
    assert changed.data["translations"] == ["en", "wo"]
    assert changed.data["title"] == "Une si longue lettre" and changed.data["subtitle"] == "Roman"
    assert author.get(url, HTTP_ACCEPT_LANGUAGE="en").data["title"] == "Une si longue lettre"  # "en" has no title now
    cleared = author.patch(url, {"translations": None, "series": None, "authors": None})
    assert cleared.status_code == 200, cleared.data
    assert cleared.data["translations"] == [] and cleared.data["series"] is None and cleared.data["authors"] == []
    assert cleared.data["subtitle"] == "Roman"
    refused = author.patch(url, {"title": None})
    assert refused.status_code == 422 and refused.data["error"]["code"] == "invalid_title"


def test_staff_build_the_category_tree_with_counts(staff, author, anonymous):
    assert staff.post("/categories", {"name": "Fiction", "slug": "fiction",
                                      "translations": {"fr": "Romans"}}).status_code == 201
    assert staff.post("/categories", {"name": "Novels", "slug": "novels", "parent": "fiction"}).status_code == 201
    assert staff.post("/categories", {"name": "Poetry", "slug": "poetry"}).status_code == 201
    assert author.post("/categories", {"name": "Mine"}).status_code == 403
    published(author, categories=["novels"])
    published(author, title="Chants d'ombre", categories=["poetry", "fiction"])
    published(author, title="Both", categories=["novels", "fiction"])  # counted once for fiction
    tree = anonymous.get("/categories", HTTP_ACCEPT_LANGUAGE="fr").data
    fiction, poetry = tree
    assert (fiction["slug"], fiction["name"], fiction["book_count"]) == ("fiction", "Romans", 3)
    assert [(c["path"], c["book_count"]) for c in fiction["children"]] == [("fiction/novels", 2)]
    assert poetry["book_count"] == 1


def test_authors_list_and_page(author, anonymous):
    published(author, authors=["Cheikh Hamidou Kane"], title="L'Aventure ambiguë")
    published(author, authors=["Mariama Bâ"])
    author.post("/books", book_body(authors=["Unpublished Writer"]))
    authors = anonymous.get("/authors").data["items"]
    assert [a["name"] for a in authors] == ["Mariama Bâ", "Cheikh Hamidou Kane"]  # by surname, published only
    page = anonymous.get(f"/authors/{authors[1]['id']}").data
    assert [b["title"] for b in page["books"]] == ["L'Aventure ambiguë"]
    assert anonymous.get("/authors/00000000-0000-0000-0000-000000000000").status_code == 404


def test_errors_speak_the_reader_s_language(author):
    refused = author.post("/books", book_body(isbn="12345"), HTTP_ACCEPT_LANGUAGE="fr")
    assert refused.data["error"]["message"] == ("Cet ISBN n’est pas valable : 10 ou 13 chiffres (978/979…) "
                                                 "avec une clé de contrôle juste.")
    missing = author.get("/books/00000000-0000-0000-0000-000000000000", HTTP_ACCEPT_LANGUAGE="fr")
    assert missing.data["error"]["message"] == "Ce livre n’existe pas."
