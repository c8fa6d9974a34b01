"""Many books whole in one SQL statement: each book's row, credits (with the authors' names),
categories, editions (with their publisher and formats), publisher and series, aggregated
by PostgreSQL into one JSON value per book (``book_json_sql``), shaped here into the API's
dicts (``shaped``: the whole book; ``card_of``: the card lists show).

Every read of published books goes through it: a book's page (``books_full`` of one id),
the lists and feeds (``lists.book_page`` selects the JSON beside the page's keyset columns),
search (the search statement selects it for the page's hits) and collections. So a page of
60 books is one statement, not one per book or per relation.
"""

from __future__ import annotations

import json
from datetime import datetime

from django.db import connections

from .cards import DB, cover, credits_shown, iso, rating

_CREDITS = """(SELECT coalesce(json_agg(json_build_object('id', a.id, 'name', a.name, 'role', ba.role)
                                       ORDER BY ba.position, ba.id), '[]')
                FROM catalog_bookauthor ba JOIN catalog_author a ON a.id = ba.author_id WHERE ba.book_id = b.id)"""
#: one book as a card (what lists show: its row and its credits) as a JSON object; ``b``: the row
_CARD_JSON = f"""json_build_object(
  'id', b.id, 'title', b.title, 'translations', b.translations, 'language', b.language,
  'access_model', b.access_model, 'price_amount', b.price_amount, 'price_currency', b.price_currency,
  'rating_average', b.rating_average, 'rating_count', b.rating_count, 'popularity', b.popularity,
  'cover_urls', b.cover_urls, 'cover_file_id', b.cover_file_id, 'publication_year', b.publication_year,
  'published_at', b.published_at, 'series_position', b.series_position, 'credits', {_CREDITS})"""
#: one book whole as a JSON object; ``b`` is the ``catalog_book`` row
_BOOK_JSON = """json_build_object(
  'id', b.id, 'title', b.title, 'subtitle', b.subtitle, 'description', b.description,
  'translations', b.translations, 'language', b.language, 'status', b.status, 'access_model', b.access_model,
  'price_amount', b.price_amount, 'price_currency', b.price_currency, 'rating_average', b.rating_average,
  'rating_count', b.rating_count, 'popularity', b.popularity, 'cover_urls', b.cover_urls,
  'cover_file_id', b.cover_file_id, 'publication_year', b.publication_year,
  'publication_date', b.publication_date, 'published_at', b.published_at, 'updated_at', b.updated_at,
  'version', b.version, 'series_position', b.series_position,
  'publisher_id', b.publisher_id, 'publisher', (SELECT p.name FROM catalog_publisher p WHERE p.id = b.publisher_id),
  'series_id', b.series_id, 'series', (SELECT s.name FROM catalog_series s WHERE s.id = b.series_id),
  'credits', (SELECT coalesce(json_agg(json_build_object('id', a.id, 'name', a.name, 'role', ba.role)
                                       ORDER BY ba.position, ba.id), '[]')
                FROM catalog_bookauthor ba JOIN catalog_author a ON a.id = ba.author_id WHERE ba.book_id = b.id),
  'categories', (SELECT coalesce(json_agg(json_build_object('id', c.id, 'slug', c.slug, 'name', c.name,
                                                            'translations', c.translations, 'path', c.path)
                                          ORDER BY c.path), '[]')
                   FROM catalog_book_categories bc JOIN catalog_category c ON c.id = bc.category_id
                  WHERE bc.book_id = b.id),
  'editions', (SELECT coalesce(json_agg(json_build_object(
                  'id', e.id, 'isbn13', e.isbn13, 'publisher', ep.name, 'publication_date', e.publication_date,
                  'label', e.label,
                  'formats', (SELECT coalesce(json_agg(json_build_object('kind', f.kind, 'media_type', f.media_type,
                                                                         'size', f.size) ORDER BY f.kind), '[]')
                                FROM catalog_format f WHERE f.edition_id = e.id))
                  ORDER BY e.created_at), '[]')
                 FROM catalog_edition e LEFT JOIN catalog_publisher ep ON ep.id = e.publisher_id
                WHERE e.book_id = b.id))"""


def book_json_sql(book_id: str, *, whole: bool = True) -> str:
    """A scalar subquery: the JSON of the book whose id is the SQL expression ``book_id``
    (``"catalog_book"."id"`` in an ORM query of books, ``p.id`` in a statement of one's own):
    whole (``shaped``), or only what its card shows (``card_shaped``: a list's page needs no
    categories, editions or formats, the costliest parts to aggregate)."""
    return f"(SELECT {_BOOK_JSON if whole else _CARD_JSON} FROM catalog_book b WHERE b.id = {book_id})"


#: the keys of a card (``card_of``), in the API's order
CARD_KEYS = ("id", "title", "authors", "contributors", "language", "access_model", "price", "rating", "popularity",
             "cover", "publication_year", "published_at")


def _moment(value: str | None) -> str | None:
    # PostgreSQL's JSON trims a timestamp's trailing zeros; the API shows Python's isoformat
    return iso(datetime.fromisoformat(value)) if value else None


def shaped(raw: dict | str | bytes, *, lang: str) -> dict:
    """A book's JSON (``book_json_sql``) as the API shows it whole, in ``lang``."""
    if not isinstance(raw, dict):
        raw = json.loads(raw)
    translations = raw["translations"] or {}
    texts = translations.get(lang) or {}
    editions = raw["editions"]
    book, series_position = card_shaped(raw, lang=lang)
    return {
        **book,
        "subtitle": texts.get("subtitle") or raw["subtitle"],
        "description": texts.get("description") or raw["description"],
        "translations": sorted(translations.keys()),
        "categories": [{"id": c["id"], "slug": c["slug"], "name": (c["translations"] or {}).get(lang) or c["name"],
                        "path": c["path"]} for c in raw["categories"]],
        "publisher": raw["publisher"],
        "publisher_id": raw["publisher_id"],
        "series": ({"id": raw["series_id"], "name": raw["series"],
                    "position": series_position}
                   if raw["series_id"] else None),
        "publication_date": raw["publication_date"],
        "editions": editions,
        "formats": sorted({f["kind"] for e in editions for f in e["formats"]}),
        "status": raw["status"],
        "version": raw["version"],
        "updated_at": _moment(raw["updated_at"]),
    }


def card_shaped(raw: dict | str | bytes, *, lang: str) -> dict:
    """A card's JSON (``book_json_sql(whole=False)``) as the API shows it, in ``lang``; with the
    book's number in its series (``series_position``) for the caller to show or drop."""
    if not isinstance(raw, dict):
        raw = json.loads(raw)
    texts = (raw["translations"] or {}).get(lang) or {}
    access_model = raw["access_model"]
    position = raw["series_position"]
    return {
        "id": raw["id"],
        "title": texts.get("title") or raw["title"],
        **credits_shown(raw["credits"]),
        "language": raw["language"],
        "access_model": access_model,
        "price": ({"amount": raw["price_amount"], "currency": raw["price_currency"]}
                  if access_model == "sale" else None),
        "rating": rating(raw["rating_average"], raw["rating_count"]),
        "popularity": raw["popularity"],
        "cover": cover(raw["cover_urls"], raw["cover_file_id"], lang=lang),
        "publication_year": raw["publication_year"],
        "published_at": _moment(raw["published_at"]),
    }, (float(position) if position is not None else None)


def card_of(book: dict) -> dict:
    """The card of a whole book (``shaped``): what lists show."""
    return {key: book[key] for key in CARD_KEYS}


def raw_books(*, book_ids, published: bool = True) -> dict[str, str]:
    """The JSON text of each of ``book_ids`` that exists (published, unless ``published`` is
    false), by id: one statement."""
    ids = [str(i) for i in dict.fromkeys(book_ids)]
    if not ids:
        return {}
    status = " AND b.status = 'published'" if published else ""
    with connections[DB].cursor() as cursor:
        cursor.execute(f"SELECT b.id::text, {_BOOK_JSON}::text FROM catalog_book b"
                       f" WHERE b.id = ANY(%s::uuid[]){status}", [ids])
        return dict(cursor.fetchall())


def books_full(*, book_ids, lang: str = "en", published: bool = True) -> list[dict]:
    """Books whole, in the order of ``book_ids`` (those that do not exist, or are not
    published unless ``published`` is false, are skipped): one statement whatever their number."""
    found = raw_books(book_ids=book_ids, published=published)
    return [shaped(found[str(i)], lang=lang) for i in dict.fromkeys(str(i) for i in book_ids) if str(i) in found]
