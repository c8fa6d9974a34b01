"""Bulk imports into the catalogue: the starter catalogue, goodbooks-10k, synthetic books.

* ``writer``: the records an import writes, Coko's taxonomy, and the idempotent bulk writer
  (``books_import``: COPY in batches, one durable transaction and one ``book.published``
  per book in each batch, then search documents, authors' counts and the cache);
* ``starter``: Coko's own starter catalogue (``make demo``);
* ``goodbooks``: goodbooks-10k, downloaded or read from a directory; ``genres``: its tags as categories;
* ``synthetic``: generated catalogues for benchmarks.

The payload of ``book.published`` and the authors' counts are the services' own
(``services.book_changed_payload``, ``services.author_counts_refresh``).
"""

from .genres import RELEVANT_CATEGORIES, GenreTaxonomy, genre_taxonomy, relevant_categories, tag_tokens, tag_top
from .goodbooks import GENRE_FILES, GOODBOOKS_ATTRIBUTION, GOODBOOKS_FILES, GOODREADS, NOPHOTO, GoodbooksError, \
    goodbooks_download, goodbooks_files, goodbooks_isbn, goodbooks_language, goodbooks_load, goodbooks_read, \
    goodbooks_records, goodbooks_year, split_authors, split_series
from .starter import FEATURED, STARTER, STARTER_EDITORIAL_BOOST, starter_featured_ensure, starter_load, \
    starter_records
from .synthetic import SYNTHETIC, synthetic_load, synthetic_records
from .writer import BATCH, DATA_DIR, SEED_FULL_SCALE_RATINGS, BookRecord, CategorySpec, ImportResult, books_import, \
    categories_ensure, existing_keys, existing_works, popularity_seed, synthetic_access, synthetic_published_at, \
    taxonomy

__all__ = [
    "BATCH", "DATA_DIR", "FEATURED", "GENRE_FILES", "GOODBOOKS_ATTRIBUTION", "GOODBOOKS_FILES", "GOODREADS",
    "NOPHOTO", "RELEVANT_CATEGORIES", "SEED_FULL_SCALE_RATINGS", "STARTER", "STARTER_EDITORIAL_BOOST", "SYNTHETIC",
    "BookRecord", "CategorySpec", "GenreTaxonomy", "GoodbooksError", "ImportResult", "books_import",
    "categories_ensure", "existing_keys", "existing_works", "genre_taxonomy", "goodbooks_download",
    "goodbooks_files", "goodbooks_isbn", "goodbooks_language", "goodbooks_load", "goodbooks_read",
    "goodbooks_records", "goodbooks_year", "popularity_seed", "relevant_categories", "split_authors",
    "split_series", "starter_featured_ensure", "starter_load", "starter_records", "synthetic_access",
    "synthetic_load", "synthetic_published_at", "synthetic_records", "tag_tokens", "tag_top", "taxonomy",
]
