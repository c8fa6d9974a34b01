"""What each OPDS feed holds, whatever its rendering: built from the catalog's selectors.

A builder returns a :class:`Feed` (navigation or acquisition) whose links are
:class:`Target` objects — a route name and its arguments, resolved into URLs by the
renderer's :class:`Urls` (``/opds/…`` for OPDS 1.2, ``/opds/v2/…`` for OPDS 2.0). Books are
the selectors' full dicts (``selectors.book_full``) with their acquisitions worked out.

The renderers (``atom.py``, ``json2.py``) and ``views.py`` use this module; the pieces live in

* ``vocabulary.py`` — kinds, link relations, the feeds' words, ids, :class:`Target`, :class:`Urls`;
* ``entries.py`` — a book as a catalog entry (:class:`Book`, its acquisitions and prices);
* ``shapes.py`` — :class:`Feed`, its navigation items and facet groups;
* ``params.py`` — the request (:class:`Params`), keyset pages, facets;
* ``navigation.py`` — the root, categories, category sections, authors;
* ``acquisition.py`` — new, popular, a category's or author's books, a collection, search, the shelf.
"""

from __future__ import annotations

from ..values import language_name
from .acquisition import author, category, collection, new, popular, search, shelf
from .entries import (
    DISPLAY_CURRENCY,
    FORMAT_ORDER,
    SUMMARY_MAX,
    Acquisition,
    Book,
    Price,
    book,
    book_full,
    book_prepare,
    books_prepare,
    catalog_updated,
    prices,
)
from .navigation import authors, categories, category_sections, root
from .params import BACK_MAX, PAGE_SIZE, SEARCH_OFFSET_MAX, Params
from .shapes import Facet, FacetGroup, Feed, Group, NavItem
from .vocabulary import (
    ACQUISITION,
    ACQUISITION_REL,
    EPOCH,
    NAVIGATION,
    REL_FACET,
    REL_FEATURED,
    REL_IMAGE,
    REL_NEW,
    REL_POPULAR,
    REL_SHELF,
    REL_THUMBNAIL,
    Target,
    Urls,
    count_text,
    feed_id,
    text,
    when,
)

__all__ = [
    "ACQUISITION", "ACQUISITION_REL", "BACK_MAX", "DISPLAY_CURRENCY", "EPOCH", "FORMAT_ORDER", "NAVIGATION",
    "PAGE_SIZE", "REL_FACET", "REL_FEATURED", "REL_IMAGE", "REL_NEW", "REL_POPULAR", "REL_SHELF", "REL_THUMBNAIL",
    "SEARCH_OFFSET_MAX", "SUMMARY_MAX",
    "Acquisition", "Book", "Facet", "FacetGroup", "Feed", "Group", "NavItem", "Params", "Price", "Target", "Urls",
    "author", "authors", "book", "book_full", "book_prepare", "books_prepare", "catalog_updated", "categories",
    "category", "collection", "category_sections", "count_text", "feed_id", "language_name", "new", "popular", "prices",
    "root", "search", "shelf", "text", "when",
]
