"""How the catalog's reads show a book: a card (lists) or the whole book (its page), and the
querysets that load what each needs in a fixed number of queries."""

from __future__ import annotations

from django.db.models import Prefetch
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ..models import Book, BookAuthor, Category, Edition, Format

DB = "catalog"


def _text(book: Book, field_name: str, lang: str) -> str:
    translated = (book.translations or {}).get(lang, {})
    return translated.get(field_name) or getattr(book, field_name)


def category_name(category: Category, lang: str) -> str:
    return (category.translations or {}).get(lang) or category.name


def _price(book: Book) -> dict | None:
    if book.access_model != "sale":
        return None
    return {"amount": book.price_amount, "currency": book.price_currency}


def iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat()


def rating(average, count: int) -> dict:
    """A book's rating: ``average`` is ``null`` until someone has rated it (never a 0 that
    would rank an unrated book below a badly rated one)."""
    return {"average": float(average) if count else None, "count": count}


#: what a stored cover's ``cover_urls`` may show: its sizes (files domain), nothing else
COVER_SIZES = ("original", "small", "medium", "large")
GENERATED_ALT = _("Generated cover: drawn by Coko from the title and author, not the book's own")


def cover(urls: dict | None, file_id, *, lang: str) -> dict | None:
    """A book's cover as readers get it: only a cover the files domain stores (an image found
    elsewhere is fetched into storage first, never linked), its sizes' URLs; a cover Coko
    generated says so: ``generated: "true"`` and an ``alt`` text in the reader's language."""
    if not file_id or not urls:
        return None
    shown = {size: urls[size] for size in COVER_SIZES if urls.get(size)}
    if urls.get("generated") == "true":
        with translation.override(lang):
            shown.update(generated="true", alt=str(GENERATED_ALT))
    return shown or None


def credits_shown(credits: list[dict]) -> dict:
    """A book's people as the API shows them: ``authors``, its authors only (role ``author``), and
    ``contributors``, everyone credited with their role (the authors too), in the book's order."""
    return {"authors": [c for c in credits if c["role"] == "author"], "contributors": credits}


def book_card(book: Book, *, lang: str) -> dict:
    """A book as lists show it: enough to draw a card, nothing more (slow networks)."""
    return {
        "id": str(book.id),
        "title": _text(book, "title", lang),
        **credits_shown([{"id": str(c.author_id), "name": c.author.name, "role": c.role}
                         for c in book.credits.all()]),
        "language": book.language,
        "access_model": book.access_model,
        "price": _price(book),
        "rating": rating(book.rating_average, book.rating_count),
        "popularity": book.popularity,
        "cover": cover(book.cover_urls, book.cover_file_id, lang=lang),
        "publication_year": book.publication_year,
        "published_at": iso(book.published_at),
    }


def book_full(book: Book, *, lang: str) -> dict:
    """A book as its page shows it."""
    card = book_card(book, lang=lang)
    editions = []
    for edition in book.editions.all():
        editions.append({
            "id": str(edition.id),
            "isbn13": edition.isbn13,
            "publisher": edition.publisher.name if edition.publisher_id else None,
            "publication_date": iso(edition.publication_date),
            "label": edition.label,
            "formats": [{"kind": f.kind, "media_type": f.media_type, "size": f.size} for f in edition.formats.all()],
        })
    card.update({
        "subtitle": _text(book, "subtitle", lang),
        "description": _text(book, "description", lang),
        "translations": sorted((book.translations or {}).keys()),
        "categories": [{"id": str(c.id), "slug": c.slug, "name": category_name(c, lang), "path": c.path}
                       for c in book.categories.all()],
        "publisher": book.publisher.name if book.publisher_id else None,
        "publisher_id": str(book.publisher_id) if book.publisher_id else None,
        "series": ({"id": str(book.series_id), "name": book.series.name,
                    "position": float(book.series_position) if book.series_position is not None else None}
                   if book.series_id else None),
        "publication_date": iso(book.publication_date),
        "editions": editions,
        "formats": sorted({f["kind"] for e in editions for f in e["formats"]}),
        "status": book.status,
        "version": book.version,
        "updated_at": iso(book.updated_at),
    })
    return card


def with_cards(queryset):
    credits = BookAuthor.objects.select_related("author").order_by("position")
    return queryset.prefetch_related(Prefetch("credits", queryset=credits))


def with_everything(queryset):
    formats = Format.objects.order_by("kind")
    editions = Edition.objects.select_related("publisher").prefetch_related(
        Prefetch("formats", queryset=formats)).order_by("created_at")
    return with_cards(queryset).select_related("publisher", "series").prefetch_related(
        "categories", Prefetch("editions", queryset=editions))
