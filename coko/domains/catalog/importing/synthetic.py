"""Synthetic catalogues for benchmarks: book *n* is always the same book (its generator is
seeded with *n*), in the languages, popularity and author spread of a real catalogue."""

from __future__ import annotations

import json
import math
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal

from django.db import transaction

from ..models import Book
from .writer import BATCH, DATA_DIR, DB, BookRecord, ImportResult, books_import, categories_ensure, existing_keys, \
    synthetic_access, synthetic_published_at, taxonomy

SYNTHETIC = "synthetic"


class _Words:
    def __init__(self) -> None:
        self.raw = json.loads((DATA_DIR / "synthetic_words.json").read_text(encoding="utf-8"))
        weights = self.raw["languages"]
        self.languages = [lang for lang, weight in weights.items() for _ in range(weight)]

    def title(self, rng: random.Random, lang: str) -> str:
        words, places = self.raw[lang], self.raw["places"]
        template = rng.choice(words["templates"])
        place = rng.choice(places)
        if lang == "fr":
            a, b = rng.sample(words["nouns"], 2)
            text = template.format(A=a[0], B=b[0], deB=b[1], place=place)
        elif lang == "en":
            noun, noun2 = rng.sample(words["nouns"], 2)
            text = template.format(adj=rng.choice(words["adjectives"]), noun=noun, noun2=noun2, place=place)
            return " ".join(w[:1].upper() + w[1:] if w not in {"of", "the", "in", "and", "a"} or i == 0 else w
                            for i, w in enumerate(text.split()))
        else:
            noun, noun2 = rng.sample(words["nouns"], 2)
            text = template.format(noun=noun, Noun=noun.capitalize(), noun2=noun2, place=place)
        return text[:1].upper() + text[1:]

    def author(self, index: int) -> str:
        first, last = self.raw["first_names"], self.raw["last_names"]
        quotient = index // len(first)  # spread the last names (not all "Ndiaye" first)
        name = f"{first[index % len(first)]} {last[(quotient * (len(first) + 1) + index % len(first)) % len(last)]}"
        rank = index // (len(first) * len(last))
        if rank:
            name = name.replace(" ", f" {chr(ord('A') + (rank - 1) % 26)}. ", 1)
            if rank > 26:
                name += f" {rank // 26 + 1}"
        return name


def synthetic_records(*, start: int, count: int, categories: list[str], authors: int) -> Iterator[BookRecord]:
    """Books ``start`` … ``start + count - 1`` of the synthetic catalogue; book *n* is always the same
    (its random generator is seeded with *n*). Popularity is log-normal (a few very popular
    books, a long tail), ratings centred on 3.9, authors Zipf-like (some write many books)."""
    words = _Words()
    tops = sorted({c.split("/")[0] for c in categories})
    by_top = defaultdict(list)
    for path in categories:
        by_top[path.split("/")[0]].append(path.rsplit("/", 1)[-1])
    for n in range(start, start + count):
        rng = random.Random(n)
        lang = rng.choice(words.languages)
        title = words.title(rng, lang)  # first: the same title whatever the category tree
        popularity = int(math.exp(rng.gauss(5.5, 2.0)))
        rating = Decimal(str(round(min(5.0, max(1.0, rng.gauss(3.9, 0.35))), 2)))
        picked = []
        if tops:
            top = rng.choice(tops)
            picked = rng.sample(by_top[top], min(len(by_top[top]), rng.randint(1, 3)))
        names = [words.author(int(authors * rng.random() ** 1.6))]
        if rng.random() < 0.08:
            names.append(words.author(rng.randrange(authors)))
        access, amount, currency = synthetic_access(f"synthetic:{n}")
        yield BookRecord(
            source=SYNTHETIC, key=str(n), title=title, authors=names, language=lang,
            publication_year=rng.randint(1950, 2025), categories=picked, access_model=access,
            price_amount=amount, price_currency=currency, rating_average=rating,
            rating_count=int(popularity * rng.uniform(0.5, 1.0)), popularity=popularity,
            published_at=synthetic_published_at(f"synthetic:{n}"),
        )


def synthetic_load(*, books: int | None = None, total: int | None = None, events: bool = False,
                   say: Callable[[str], None] = lambda _m: None) -> ImportResult:
    """Add ``books`` synthetic books, or as many as bring the catalogue to ``total`` books."""
    with transaction.atomic(using=DB, durable=True):
        categories = categories_ensure(taxonomy())
    keys = existing_keys(SYNTHETIC)
    start = max((int(k) for k in keys if k.isdigit()), default=-1) + 1
    if total is not None:
        books = max(0, total - Book.objects.count())
    if not books:
        return ImportResult()
    # leaves of the tree (books are filed under the most specific categories)
    parents = {c.parent_id for c in categories.values() if c.parent_id}
    leaves = [c.path for c in categories.values() if c.id not in parents]
    began = time.perf_counter()

    def progress(result: ImportResult) -> None:
        if result.created % 10000 < BATCH or result.created == books:
            say(f"  {result.created:,} synthetic books written ({time.perf_counter() - began:.1f} s)")

    return books_import(synthetic_records(start=start, count=books, categories=leaves,
                                          authors=max(500, books // 4)),
                        source=SYNTHETIC, categories=categories, events=events, progress=progress)


