"""The demo catalogue of ``make run``: Coko's own starter books, and goodbooks-10k when configured."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import call_command

from coko.domains.catalog import demo, importing, values
from coko.domains.catalog.models import Author, Book, Category

from .test_goodbooks import write_goodbooks

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

STARTER = json.loads((importing.DATA_DIR / "starter_books.json").read_text(encoding="utf-8"))


def load_demo() -> str:
    out = io.StringIO()
    demo.load(stdout=out)
    return out.getvalue()


def counts() -> tuple:
    outbox = apps.get_model("catalog", "OutboxEvent").objects.using("catalog")
    return (Book.objects.using("catalog").count(), Author.objects.using("catalog").count(),
            Category.objects.using("catalog").count(), Book.categories.through.objects.using("catalog").count(),
            outbox.count())


def test_the_starter_data_is_well_formed():
    slugs = {spec.slug for spec in importing.taxonomy()}
    keys = [b["key"] for b in STARTER["books"]]
    assert len(keys) == len(set(keys)) >= 40
    for entry in STARTER["books"]:
        assert entry["title"] and entry["authors"] and isinstance(entry["year"], int), entry["key"]
        assert values.language_normalise(entry["language"]) == entry["language"]
        assert set(entry["categories"]) <= slugs, entry["key"]
        assert entry["description"]["en"] and entry["description"]["fr"], entry["key"]
        access = entry["access"]
        assert access["model"] in {"free", "subscription", "sale"}
        assert (access["model"] == "sale") == ("price" in access)
        if "price" in access:
            assert access["currency"] == "XOF" and 500 <= access["price"] <= 10000
    languages = {b["language"] for b in STARTER["books"]}
    assert {"fr", "en", "wo", "sw", "ar", "pt"} <= languages
    assert "CC BY 4.0" in (importing.DATA_DIR / "README.md").read_text(encoding="utf-8")


def test_starter_catalogue_loads_once(monkeypatch, anonymous):
    monkeypatch.delenv("COKO_GOODBOOKS_DIR", raising=False)
    out = load_demo()
    assert f"starter catalogue loaded, {len(STARTER['books'])} books" in out
    books = Book.objects.using("catalog")
    assert books.filter(status="published").count() == len(STARTER["books"])
    before = counts()
    assert before[4] == len(STARTER["books"]) + 1  # one book.published each, and the featured collection's
    outbox = apps.get_model("catalog", "OutboxEvent").objects.using("catalog")
    assert outbox.filter(type="book.published").count() == len(STARTER["books"])
    assert list(outbox.exclude(type="book.published").values_list("type", flat=True)) == ["collection.changed"]

    assert load_demo() == ""  # already there: nothing done, nothing said
    assert counts() == before

    letter = books.get(external_ids__has_key="coko-starter", title="Une si longue lettre")
    assert (letter.language, letter.publication_year) == ("fr", 1979)
    assert letter.translations["en"]["title"] == "So Long a Letter"
    assert letter.description.startswith("Au lendemain de la mort de son mari")
    assert {c.slug for c in letter.categories.all()} == {"african-literature", "literary-fiction", "classics"}
    assert letter.categories.get(slug="african-literature").parent.slug == "fiction"

    palace = books.get(title="بين القصرين")
    assert palace.language == "ar" and palace.series.name == "Cairo Trilogy" and palace.series_position == 1
    assert Author.objects.using("catalog").get(name="Ngũgĩ wa Thiong'o").book_count == 2

    achebe = books.get(title="Things Fall Apart")
    english = anonymous.get(f"/books/{achebe.id}", HTTP_ACCEPT_LANGUAGE="en")
    french = anonymous.get(f"/books/{achebe.id}", HTTP_ACCEPT_LANGUAGE="fr")
    assert english.status_code == french.status_code == 200, french.data
    assert english.data["title"] == "Things Fall Apart" and french.data["title"] == "Le monde s'effondre"
    assert french.data["description"].startswith("Okonkwo, lutteur")
    assert "Romans et fiction" in [c["name"] for c in anonymous.get("/categories", HTTP_ACCEPT_LANGUAGE="fr").data]
    doomi = books.get(title="Doomi Golo")
    wolof = anonymous.get("/books?language=wo", HTTP_ACCEPT_LANGUAGE="fr")
    assert [(b["id"], b["title"]) for b in wolof.data["items"]] == [(str(doomi.id), "Les Petits de la guenon")]
    for_sale = anonymous.get("/books?access_model=sale&limit=100")
    assert all(b["price"]["currency"] == "XOF" for b in for_sale.data["items"]) and for_sale.data["items"]
    found = anonymous.get("/books/search?q=senghor")
    assert [b["title"] for b in found.data["items"]] == ["Chants d'ombre"]


def test_load_demo_data_runs_the_catalog_loader(monkeypatch):
    monkeypatch.delenv("COKO_GOODBOOKS_DIR", raising=False)
    out = io.StringIO()
    call_command("load_demo_data", stdout=out)
    assert f"catalog: {len(STARTER['books'])} demo record(s) created" in out.getvalue()


def test_goodbooks_too_when_configured(tmp_path, monkeypatch):
    monkeypatch.setenv("COKO_GOODBOOKS_DIR", str(write_goodbooks(tmp_path / "gb")))
    out = load_demo()
    assert "starter catalogue loaded" in out and "Zygmunt Zając" in out
    # Palace Walk is the starter's بين القصرين (its English title, same author): not a second book
    assert "goodbooks-10k imported, 5 books" in out and "(1 already here from the starter catalogue)" in out
    assert Book.objects.using("catalog").count() == len(STARTER["books"]) + 5
    assert Book.objects.using("catalog").filter(translations__en__title="Palace Walk").count() == 1
    assert not Book.objects.using("catalog").filter(title="Palace Walk").exists()
    before = counts()
    assert "already imported" in load_demo()
    assert counts() == before
    # a category both sources use is one category
    assert Category.objects.using("catalog").filter(slug="historical-fiction").count() == 1


def test_goodbooks_directory_without_the_files(tmp_path, monkeypatch):
    monkeypatch.setenv("COKO_GOODBOOKS_DIR", str(tmp_path / "nothing-here"))
    out = load_demo()
    assert "holds no books.csv; goodbooks-10k not imported" in out
    assert Book.objects.using("catalog").count() == len(STARTER["books"])


def test_the_starter_is_skipped_when_the_catalogue_has_books(tmp_path, monkeypatch):
    monkeypatch.setenv("COKO_GOODBOOKS_DIR", str(write_goodbooks(tmp_path / "gb")))
    call_command("load_goodbooks", stdout=io.StringIO())
    out = load_demo()
    assert "starter" not in out and "already imported" in out
    assert Book.objects.using("catalog").count() == 6


def test_synthetic_catalogue_is_deterministic_and_continues(monkeypatch):
    monkeypatch.delenv("COKO_GOODBOOKS_DIR", raising=False)
    load_demo()
    out = io.StringIO()
    call_command("catalog_synthesize", "--books", "300", stdout=out)
    assert "300 books added" in out.getvalue()
    def synthetic():
        return Book.objects.using("catalog").filter(external_ids__has_key="synthetic")

    first = {b.external_ids["synthetic"]: (b.title, b.language) for b in synthetic()}
    assert len(first) == 300 and {lang for _, lang in first.values()} == {"fr", "en", "wo", "sw"}
    call_command("catalog_synthesize", "--total", str(len(STARTER["books"]) + 500), stdout=io.StringIO())
    assert synthetic().count() == 500
    assert {b.external_ids["synthetic"]: (b.title, b.language) for b in synthetic().filter(
        external_ids__synthetic__in=list(first))} == first
    again = list(importing.synthetic_records(start=0, count=300, categories=["fiction/literary-fiction"],
                                             authors=500))
    assert {r.key: (r.title, r.language) for r in again} == first
    assert not synthetic().filter(categories=None).exists()
    assert Path(importing.DATA_DIR / "synthetic_words.json").is_file()
