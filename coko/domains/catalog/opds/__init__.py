"""OPDS catalogue feeds for e-reader apps (KOReader, Thorium, Aldiko …): an edge of the catalog.

Two renderings of one catalogue, built from the catalog's selectors (never its models):

* OPDS 1.2 (Atom) under ``/opds/`` — ``atom.py``;
* OPDS 2.0 (JSON) under ``/opds/v2/`` — ``json2.py``;

both from the version-neutral feed descriptions of ``feeds.py``. ``views.py`` authenticates
(HTTP Basic through the accounts facade, or a Bearer token), caches the rendered bytes under
versioned keys (``catalog.cache``: a feed is a short-lived page, a book's entry follows that
book's version; each book's rendered entry is a fragment of its own, ``fragments.py``) and
answers; ``urls.py`` lists the routes, the same ones in both versions:

====================================  ==========================================================
``/opds/``                            navigation root (``/opds/v2/`` in OPDS 2.0)
``/opds/new``, ``/opds/popular``      acquisition feeds (rels ``…/sort/new``, ``…/sort/popular``)
``/opds/categories``                  navigation: top-level categories; a category with
``/opds/categories/<slug>/sections``  sub-categories opens a navigation feed of them
``/opds/categories/<slug>``           acquisition: the category's books, descendants included
``/opds/authors``                     navigation: authors by name, paginated
``/opds/authors/<uuid>``              acquisition: an author's books
``/opds/search?q=``                   acquisition: search results with facet counts
                                      (``/opds/v2/search?query=``, templated ``{?query}``)
``/opds/opensearch.xml``              OpenSearch description (OPDS 1.2 search)
``/opds/books/<uuid>``                complete entry (``application/atom+xml;type=entry…``);
                                      ``/opds/v2/books/<uuid>`` is the publication document
``/opds/collections/<slug>``          acquisition: a collection's books in its order (the root
                                      links ``featured`` with rel ``…/featured``; OPDS 2.0's root
                                      also shows its first books as a ``groups`` entry)
``/opds/shelf``                       the signed-in reader's own shelf (HTTP Basic), paged
``/opds/cover-placeholder.png``       the image of a book without a cover (OPDS 2.0 wants one)
====================================  ==========================================================

Decisions:

* **Prices** are shown in XOF, what readers pay with (Orange Money, Wave): a book priced in
  EUR is converted at the fixed parity (655.957), one in USD at ``COKO_CATALOG['USD_XOF']`` —
  the conversion the catalogue's price filters use (``values.price_in_xof``). OPDS 1.2 allows
  several ``opds:price`` on a buy link: the book's own price follows the XOF one when it is in
  another currency. OPDS 2.0 has one ``properties.price``: XOF.
* **Acquisition links** point at the files domain's ``/api/v1/files/books/<id>/file/<format>``,
  which checks the reader's right and redirects to a short-lived signed URL: the link yields
  the file itself, so its ``type`` is the format's media type and no ``indirectAcquisition``
  is needed. Free books are ``…/acquisition/open-access``, subscription books
  ``…/acquisition/subscribe``, books for sale ``…/acquisition/buy`` with their price.
  A published book without any file is not an OPDS catalog entry (an entry must have an
  acquisition link) and is left out of the feeds.
* **Covers** are the catalogue's WebP thumbnails (``image``: large, ``thumbnail``: small).
  A book without a cover gets no image link in OPDS 1.2 (optional there) and, in OPDS 2.0
  (whose publications carry an ``images`` collection), ``/opds/cover-placeholder.png``, a
  plain PNG drawn once per process.
* **Errors** are not the API's JSON envelope (that is for ``/api/``): OPDS 1.2 answers
  ``text/plain`` (readers' apps show the status and, at best, the text), OPDS 2.0 answers
  ``application/problem+json`` (RFC 9457, what OPDS 2.0 clients expect). A bad or unknown
  credential is a 401 with ``WWW-Authenticate: Basic realm="Coko"`` whatever the account
  (no enumeration); too many attempts are a 429 with ``Retry-After``; a database or Redis
  outage a 503.
* **Pagination** follows the selectors' keyset cursors forward (``next``); ``previous`` is
  known because each page's URL carries the cursors of the pages before it (``back``, the
  last 16). Search pages by offset. ``opensearch:totalResults`` / ``numberOfItems`` are
  given where the selector knows a total (search).
"""
