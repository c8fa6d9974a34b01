"""One book: its page (published, one statement), its editor's view (any status), who manages
it, and its files (for the files domain)."""

from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.db import connections

from .. import contracts
from ..models import Book, BookAuthor, Format
from .cards import DB, book_full, cover, credits_shown, iso, rating, with_everything


_DETAIL_SQL = """
SELECT b.id, b.title, b.subtitle, b.description, b.translations, b.language, b.status, b.access_model,
       b.price_amount, b.price_currency, b.rating_average, b.rating_count, b.popularity, b.cover_urls,
       b.cover_file_id, b.publication_year, b.publication_date, b.published_at, b.updated_at, b.version,
       b.series_position,
       p.id, p.name, s.id, s.name,
       (SELECT coalesce(json_agg(json_build_object('id', a.id, 'name', a.name, 'role', ba.role)
                                 ORDER BY ba.position, ba.id), '[]')
          FROM catalog_bookauthor ba JOIN catalog_author a ON a.id = ba.author_id WHERE ba.book_id = b.id),
       (SELECT coalesce(json_agg(json_build_object('id', c.id, 'slug', c.slug, 'name', c.name,
                                                   'translations', c.translations, 'path', c.path)
                                 ORDER BY c.path), '[]')
          FROM catalog_book_categories bc JOIN catalog_category c ON c.id = bc.category_id
         WHERE bc.book_id = b.id),
       (SELECT coalesce(json_agg(json_build_object(
                   'id', e.id, 'isbn13', e.isbn13, 'publisher', ep.name, 'publication_date', e.publication_date,
                   'label', e.label,
                   'formats', (SELECT coalesce(json_agg(json_build_object('kind', f.kind, 'media_type', f.media_type,
                                                                          'size', f.size) ORDER BY f.kind), '[]')
                                 FROM catalog_format f WHERE f.edition_id = e.id))
                   ORDER BY e.created_at), '[]')
          FROM catalog_edition e LEFT JOIN catalog_publisher ep ON ep.id = e.publisher_id WHERE e.book_id = b.id)
  FROM catalog_book b
  LEFT JOIN catalog_publisher p ON p.id = b.publisher_id
  LEFT JOIN catalog_series s ON s.id = b.series_id
 WHERE b.id = %s AND b.status = 'published'
"""


def book_detail(*, book_id, lang: str = "en") -> dict | None:
    """A published book, whole; ``None`` if there is none (or it is not published).

    One statement (the reader's hottest uncached read): the same shape as ``book_full``.
    """
    with connections[DB].cursor() as cursor:
        cursor.execute(_DETAIL_SQL, [str(book_id)])
        row = cursor.fetchone()
    if row is None:
        return None
    (id_, title, subtitle, description, translations, language, status, access_model, price_amount,
     price_currency, rating_average, rating_count, popularity, cover_urls, cover_file_id, publication_year,
     publication_date, published_at, updated_at, version, series_position, publisher_id, publisher, series_id,
     series_name, credits,
     categories, editions) = row
    # Django has psycopg hand JSON over as text (its fields decode it): decode it here
    translations, cover_urls, credits, categories, editions = (
        json.loads(v) if isinstance(v, str) else v for v in (translations, cover_urls, credits, categories, editions))
    texts = (translations or {}).get(lang, {})
    return {
        "id": str(id_),
        "title": texts.get("title") or title,
        **credits_shown([{"id": c["id"], "name": c["name"], "role": c["role"]} for c in credits]),
        "language": language,
        "access_model": access_model,
        "price": {"amount": price_amount, "currency": price_currency} if access_model == "sale" else None,
        "rating": rating(rating_average, rating_count),
        "popularity": popularity,
        "cover": cover(cover_urls, cover_file_id, lang=lang),
        "publication_year": publication_year,
        "published_at": iso(published_at),
        "subtitle": texts.get("subtitle") or subtitle,
        "description": texts.get("description") or description,
        "translations": sorted((translations or {}).keys()),
        "categories": [{"id": c["id"], "slug": c["slug"], "name": (c["translations"] or {}).get(lang) or c["name"],
                        "path": c["path"]} for c in categories],
        "publisher": publisher,
        "publisher_id": str(publisher_id) if publisher_id else None,
        "series": ({"id": str(series_id), "name": series_name,
                    "position": float(series_position) if series_position is not None else None}
                   if series_id else None),
        "publication_date": iso(publication_date),
        "editions": editions,
        "formats": sorted({f["kind"] for e in editions for f in e["formats"]}),
        "status": status,
        "version": version,
        "updated_at": iso(updated_at),
    }


def book_for_editor(*, book_id, lang: str = "en") -> dict | None:
    """A book in any status, for its owner and staff."""
    book = with_everything(Book.objects.filter(id=book_id)).first()
    return book_full(book, lang=lang) if book else None


def book_owner(*, book_id) -> str | None:
    """The accounts user who manages a book (any status), or ``None``."""
    try:
        owner = Book.objects.filter(id=book_id).values_list("owner_id", flat=True).first()
    except ValidationError:  # not a UUID
        return None
    return str(owner) if owner else None


def book_files(*, book_id) -> contracts.BookFiles | None:
    """A book's access model and stored files (any status)."""
    try:
        book = Book.objects.filter(id=book_id).first()
    except ValidationError:  # not a UUID
        return None
    if book is None:
        return None
    formats = Format.objects.filter(edition__book=book).order_by("kind", "-created_at")
    authors = BookAuthor.objects.filter(book=book, role="author").order_by("position")
    return contracts.BookFiles(
        book_id=str(book.id), status=book.status, access_model=book.access_model,
        price_amount=book.price_amount, price_currency=book.price_currency,
        owner_id=str(book.owner_id) if book.owner_id else None,
        formats=tuple(contracts.FormatFile(kind=f.kind, file_id=str(f.file_id), media_type=f.media_type,
                                           size=f.size, sha256=f.sha256, koreader_md5=f.koreader_md5)
                      for f in formats),
        cover_file_id=str(book.cover_file_id) if book.cover_file_id else None,
        title=book.title, authors=tuple(credit.author.name for credit in authors.select_related("author")),
    )
