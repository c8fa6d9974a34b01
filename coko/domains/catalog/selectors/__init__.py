"""Catalog reads: pages of books, one book, authors, the category tree, search.

Results are plain dicts in the API's shape (the HTTP edge and the OPDS feeds render
them; the hot ones are cached as JSON by ``coko.domains.catalog.cache``). Readers see
published books only; ``book_for_editor`` is the one read of drafts.

By read family: ``cards.py`` (a book as a card or whole, and the querysets behind them),
``lists.py`` (filtered keyset pages and their cursors, search, books by id, an author's
own books), ``one_book.py`` (a book's page, its editor's view, owner and files),
``authors.py``, ``categories.py``, ``collections.py`` (collections, readers' shelves),
``covers.py`` (covers to generate or fetch), ``publishers.py`` (publishers and series),
``names.py`` (an author, publisher or series a filter names, checked). Callers use this package:
``from coko.domains.catalog import selectors; selectors.book_page(...)``.
"""

from __future__ import annotations

from .authors import author_card, author_card_of, author_detail, author_page
from .cards import DB, book_card, book_full, with_cards, with_everything
from .full import books_full, card_of, raw_books, shaped
from .categories import category_by_slug, category_checked, category_ids_under, category_tree
from .collections import collection_detail, collection_list, shelf_has, shelf_page
from .covers import book_cover_source, books_with_cover_source, books_without_cover
from .lists import (
    SORT_KEYS,
    BookFilters,
    order_of,
    BookPage,
    book_languages,
    book_page,
    book_search,
    books_by_ids,
    books_owned,
    cursor_decode,
    cursor_encode,
    starter_books_without_files,
)
from .names import author_ids_named
from .one_book import book_detail, book_files, book_for_editor, book_owner
from .publishers import publisher_detail, publisher_page, series_detail, series_page

__all__ = [
    "collection_detail", "collection_list", "shelf_has", "shelf_page",
    "book_cover_source", "books_with_cover_source", "books_without_cover",
    "book_languages",
    "DB", "SORT_KEYS", "BookFilters", "BookPage",
    "author_card", "author_detail", "author_page", "book_card", "book_detail", "book_files", "book_for_editor",
    "book_full", "book_owner", "book_page", "book_search", "books_by_ids", "books_owned", "category_by_slug",
    "category_ids_under", "category_tree", "cursor_decode", "cursor_encode", "starter_books_without_files",
    "with_cards", "with_everything", "author_ids_named", "order_of", "publisher_detail", "publisher_page",
    "series_detail", "series_page", "author_card_of", "category_checked", "books_full", "card_of", "raw_books",
    "shaped",
]
