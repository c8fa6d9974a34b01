"""Coko's own starter catalogue (``data/starter_books.json``): a few dozen African and world
classics, in English and French, loaded by ``make demo``, put forward on a new install:

* in the ``featured`` collection, in the file's order (``starter_featured_ensure``);
* with an editorial boost of ``STARTER_EDITORIAL_BOOST`` popularity points — the editors'
  weight, not ratings: they have none here, and show none (see ``data/README.md``)."""

from __future__ import annotations

import json
from decimal import Decimal

from django.db import transaction

from .. import services, values
from ..models import Book
from .writer import DATA_DIR, DB, BookRecord, ImportResult, books_import, categories_ensure, synthetic_published_at, \
    taxonomy

STARTER = "coko-starter"
#: the starter books' editorial weight: about the seed of a book with 100,000 ratings elsewhere
#: (``writer.popularity_seed``), among well-known books, below the worldwide bestsellers
STARTER_EDITORIAL_BOOST = 750
FEATURED = "featured"
FEATURED_NAMES = {"en": "Featured", "fr": "À la une"}


def _starter_entries() -> list[dict]:
    return json.loads((DATA_DIR / "starter_books.json").read_text(encoding="utf-8"))["books"]


def starter_records() -> list[BookRecord]:
    """Coko's own starter catalogue (``data/starter_books.json``)."""
    records = []
    for entry in _starter_entries():
        language = values.language_normalise(entry["language"])
        descriptions = entry.get("description", {})
        titles = entry.get("titles", {})
        translations = {}
        for lang in ("en", "fr"):
            if lang == language:
                continue
            texts = {k: v for k, v in {"title": titles.get(lang), "description": descriptions.get(lang)}.items() if v}
            if texts:
                translations[lang] = texts
        access = entry.get("access", {"model": "free"})
        position = entry.get("series_position")
        records.append(BookRecord(
            source=STARTER, key=entry["key"], title=entry["title"], authors=entry["authors"], language=language,
            publication_year=entry.get("year"), description=descriptions.get(language) or descriptions.get("en", ""),
            translations=translations, series=entry.get("series"),
            series_position=Decimal(str(position)) if position is not None else None,
            publisher=entry.get("publisher"),
            categories=entry.get("categories", []), access_model=access["model"],
            price_amount=access.get("price"), price_currency=access.get("currency"),
            published_at=synthetic_published_at(entry["key"], days=90), editorial_boost=STARTER_EDITORIAL_BOOST,
        ))
    return records


def starter_load(*, events: bool = True) -> ImportResult:
    """Load the starter catalogue (the missing books of it); idempotent."""
    with transaction.atomic(using=DB, durable=True):
        categories = categories_ensure(taxonomy())
    return books_import(starter_records(), source=STARTER, categories=categories, events=events)




def starter_featured_ensure() -> bool:
    """The ``featured`` collection, made of the starter books in the file's order the first
    time (afterwards it is staff's: left as it is). Whether it was created now."""
    ids = dict(Book.objects.filter(external_ids__has_key=STARTER).values_list(f"external_ids__{STARTER}", "id"))
    book_ids = [ids[entry["key"]] for entry in _starter_entries() if entry["key"] in ids]
    if not book_ids:
        return False
    _collection, created = services.collection_ensure(
        slug=FEATURED, name=FEATURED_NAMES["en"], translations={"fr": FEATURED_NAMES["fr"]}, book_ids=book_ids)
    return created
