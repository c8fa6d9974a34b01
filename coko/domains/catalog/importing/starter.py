"""Coko's own starter catalogue (``data/starter_books.json``): a few dozen African and world
classics, in English and French, loaded by ``make demo``."""

from __future__ import annotations

import json
from decimal import Decimal

from django.db import transaction

from .. import values
from .writer import DATA_DIR, DB, BookRecord, ImportResult, books_import, categories_ensure, synthetic_published_at, \
    taxonomy

STARTER = "coko-starter"


def starter_records() -> list[BookRecord]:
    """Coko's own starter catalogue (``data/starter_books.json``)."""
    raw = json.loads((DATA_DIR / "starter_books.json").read_text(encoding="utf-8"))
    records = []
    for entry in raw["books"]:
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
            published_at=synthetic_published_at(entry["key"], days=90),
        ))
    return records


def starter_load(*, events: bool = True) -> ImportResult:
    """Load the starter catalogue (the missing books of it); idempotent."""
    with transaction.atomic(using=DB, durable=True):
        categories = categories_ensure(taxonomy())
    return books_import(starter_records(), source=STARTER, categories=categories, events=events)


