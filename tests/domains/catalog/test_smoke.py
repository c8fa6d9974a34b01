import pytest

from .conftest import published

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def test_smoke(author, anonymous):
    book = published(author)
    listed = anonymous.get("/books")
    assert listed.status_code == 200, listed.data
    assert [b["id"] for b in listed.data["items"]] == [book["id"]]
    one = anonymous.get(f"/books/{book['id']}")
    assert one.status_code == 200, one.data
    assert one.data["authors"][0]["name"] == "Mariama Bâ"
