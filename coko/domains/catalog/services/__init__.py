"""Catalog writes, one package per family of use cases. Each use case is one durable
transaction (``@use_case(DB)``) that writes the books and their events.

Who may write: staff (the ``admin`` role), and authors holding ``publish_books`` on the
books they own. Readers never see drafts or withdrawn books.

* ``changes``: what a request asks to change in a book, typed (``BookChanges``,
  ``AuthorCredit``, ``BookTexts``, ``UNSET``);
* ``books``: create a draft, change it, a draft from a book file's metadata, the admin
  console's edits;
* ``publication``: publish, withdraw;
* ``formats``: a book's files and cover;
* ``categories``: the taxonomy;
* ``collections``: collections staff put forward (``featured``), readers' shelves;
* ``stats``: ratings and popularity fed by other domains;
* ``_shared``: who writes (``Actor``), the ``BookChanged`` payload, authors' counts.
"""

from ._shared import DB, Actor, author_counts_refresh, book_changed_payload
from .books import author_get_or_create, book_admin_saved, book_create, book_draft_from_metadata, book_update, \
    changes_from_metadata
from .categories import category_create
from .collections import collection_books_add, collection_books_remove, collection_changed, collection_deleting, \
    collection_ensure, shelf_book_add, shelf_book_remove
from .changes import UNSET, AuthorCredit, BookChanges, BookTexts, Unset
from .formats import book_cover_set, book_cover_set_trusted, book_cover_source_drop, book_format_attach, \
    book_format_attach_trusted
from .publication import book_publish, book_withdraw
from .stats import book_stats_set

__all__ = [
    "DB",
    "UNSET",
    "Actor",
    "AuthorCredit",
    "BookChanges",
    "BookTexts",
    "Unset",
    "author_counts_refresh",
    "author_get_or_create",
    "book_admin_saved",
    "book_changed_payload",
    "book_cover_set",
    "book_cover_set_trusted",
    "book_cover_source_drop",
    "book_create",
    "book_draft_from_metadata",
    "book_format_attach",
    "book_format_attach_trusted",
    "book_publish",
    "book_stats_set",
    "book_update",
    "book_withdraw",
    "category_create",
    "collection_books_add",
    "collection_books_remove",
    "collection_changed",
    "collection_deleting",
    "collection_ensure",
    "shelf_book_add",
    "shelf_book_remove",
    "changes_from_metadata",
]
