"""Book search in OpenSearch (used when ``OPENSEARCH_URL`` is set).

``settings.OPENSEARCH_INDEX`` names an *alias*; the documents live in timestamped indices
(``coko-books-20261128t101500123456``) behind it, so ``manage.py search_reindex`` rebuilds
without downtime: it creates a new index, bulk-loads every published book, swaps the alias
in one atomic ``_aliases`` call and deletes the old index. While it loads, the new index
also carries the alias ``<alias>-building`` and ``book_sync`` writes to both, so no change
made during the rebuild is lost; every write carries the book's ``version`` with
``version_type=external_gte``, so a stale copy (an older event applied late, or the bulk
load racing an event) never overwrites a newer one.

The catalog's events keep the index up to date: ``book_sync`` (called by the handler of
``book.published`` / ``book.updated`` / ``book.withdrawn`` through ``api.book_changed_apply``)
reads the book from the database and upserts it when it is published, deletes it otherwise.
It is idempotent. Popularity and ratings are not announced by events: the index picks them
up at the book's next change or the next rebuild.

Analysis: the standard tokenizer, apostrophes turned into spaces ("d'ombre", "Achebe's"),
lowercase and ``asciifolding`` (so accents never matter), then the Snowball French or the
English (Porter) stemmer on the ``.fr`` / ``.en`` sub-fields, and edge n-grams on
``.prefix`` for search-as-you-type. (The ``light_french`` stemmer and the ``elision``
filter, the usual choices, are not used: osmem, the OpenSearch-compatible server the tests
run against, does not apply them when indexing; Snowball French is also what PostgreSQL
uses.) Searches that cannot reach OpenSearch fall back to PostgreSQL (the documents there
are always kept up to date).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from django.conf import settings
from django.db.models import Prefetch
from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import ConflictError, NotFoundError, OpenSearchException

from coko.platform.observability import get_logger

from ..models import Book, BookAuthor
from .base import SearchBackend, SearchFilters, SearchHit, SearchResult

log = get_logger("coko.catalog.search")

DB = "catalog"
FACETS = ("category", "language", "access_model")
_FACET_FIELDS = {"category": "category_slugs", "language": "language", "access_model": "access_model"}

_TEXT = {"type": "text", "analyzer": "folded",
         "fields": {"fr": {"type": "text", "analyzer": "fr_text"}, "en": {"type": "text", "analyzer": "en_text"}}}
_TEXT_PREFIX = {"type": "text", "analyzer": "folded",
                "fields": {"fr": {"type": "text", "analyzer": "fr_text"},
                           "en": {"type": "text", "analyzer": "en_text"},
                           "prefix": {"type": "text", "analyzer": "prefix", "search_analyzer": "folded"}}}

INDEX_SETTINGS = {
    # one shard holds a catalogue of this size; a replica wherever the cluster has a second node
    "index": {"number_of_shards": 1, "auto_expand_replicas": "0-1"},
    "analysis": {
        "char_filter": {
            # "d'ombre" → "d ombre", "Achebe's" → "Achebe s" (the letters left are stop words)
            "apostrophes": {"type": "pattern_replace", "pattern": "['\u2019\u2018`]", "replacement": " "},
        },
        "filter": {
            "elided": {"type": "stop", "stopwords": ["l", "d", "j", "m", "n", "s", "t", "c", "qu"]},
            "fr_stemmer": {"type": "stemmer", "language": "french"},  # Snowball, like PostgreSQL's french_stem
            "en_stemmer": {"type": "stemmer", "language": "english"},
            "prefixes": {"type": "edge_ngram", "min_gram": 2, "max_gram": 20},
        },
        "analyzer": {
            "folded": {"type": "custom", "tokenizer": "standard", "char_filter": ["apostrophes"],
                       "filter": ["lowercase", "asciifolding"]},
            "fr_text": {"type": "custom", "tokenizer": "standard", "char_filter": ["apostrophes"],
                        "filter": ["lowercase", "asciifolding", "elided", "fr_stemmer"]},
            "en_text": {"type": "custom", "tokenizer": "standard", "char_filter": ["apostrophes"],
                        "filter": ["lowercase", "asciifolding", "elided", "en_stemmer"]},
            "prefix": {"type": "custom", "tokenizer": "standard", "char_filter": ["apostrophes"],
                       "filter": ["lowercase", "asciifolding", "prefixes"]},
        },
    },
}

MAPPINGS = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "title": {**_TEXT_PREFIX, "copy_to": "everything"},
        "subtitle": {**_TEXT, "copy_to": "everything"},
        "authors": {**_TEXT_PREFIX, "copy_to": "everything"},
        "series": {**_TEXT, "copy_to": "everything"},
        "categories": {**_TEXT, "copy_to": "everything"},  # names and their translations
        "description": {**_TEXT, "copy_to": "everything"},
        "everything": _TEXT_PREFIX,  # what a search must match, every word of it
        "language": {"type": "keyword"},
        "access_model": {"type": "keyword"},
        "category_slugs": {"type": "keyword"},  # the book's categories and their ancestors
        "author_ids": {"type": "keyword"},
        "publisher_id": {"type": "keyword"},
        "series_id": {"type": "keyword"},
        "price_xof": {"type": "long"},
        "popularity": {"type": "long"},
        "published_at": {"type": "date"},
        "version": {"type": "long"},
    },
}

#: where a word counts for ranking (title A, authors and series B, subtitle and categories C,
#: description D, as in PostgreSQL)
_RANKED_FIELDS = ["title^8", "title.fr^8", "title.en^8", "authors^4", "series^4", "subtitle^2",
                  "subtitle.fr^2", "subtitle.en^2", "categories^2", "categories.fr^2", "categories.en^2",
                  "description", "description.fr", "description.en"]
_MATCH_FIELDS = ["everything", "everything.fr", "everything.en"]
_WORD = re.compile(r"[^\W_]+")


def _client(url: str) -> OpenSearch:
    return OpenSearch(hosts=[url], timeout=10, max_retries=2, retry_on_timeout=True)


def _texts(book: Book, field: str) -> list[str]:
    values = [getattr(book, field) or ""]
    for texts in (book.translations or {}).values():
        if isinstance(texts, dict) and texts.get(field):
            values.append(texts[field])
    return [v for v in values if v]


def book_document(book: Book) -> dict:
    """The index document of a published book (loaded with ``_books()``)."""
    slugs: set[str] = set()
    names: list[str] = []
    for category in book.categories.all():
        slugs.update(category.path.split("/"))
        names.append(category.name)
        names.extend(v for v in (category.translations or {}).values() if isinstance(v, str))
    return {
        "id": str(book.id),
        "title": _texts(book, "title"),
        "subtitle": _texts(book, "subtitle"),
        "authors": [credit.author.name for credit in book.credits.all()],
        "series": book.series.name if book.series_id else None,
        "categories": names,
        "description": _texts(book, "description"),
        "language": book.language,
        "access_model": book.access_model,
        "category_slugs": sorted(slugs),
        "author_ids": sorted({str(credit.author_id) for credit in book.credits.all()}),
        "publisher_id": str(book.publisher_id) if book.publisher_id else None,
        "series_id": str(book.series_id) if book.series_id else None,
        "price_xof": book.price_xof,
        "popularity": book.popularity,
        "published_at": book.published_at.isoformat() if book.published_at else None,
        "version": book.version,
    }


def _books():
    credits = BookAuthor.objects.select_related("author").order_by("position")
    return (Book.objects.select_related("series")
            .prefetch_related(Prefetch("credits", queryset=credits), "categories"))


class OpenSearchBackend(SearchBackend):
    name = "opensearch"

    def __init__(self, *, url: str, alias: str | None = None):
        self.url = url
        self.alias = alias or settings.OPENSEARCH_INDEX
        self.building = f"{self.alias}-building"
        self.client = _client(url)
        self._ready = False

    # --- index management ---------------------------------------------------------------------
    def _new_index_name(self) -> str:
        return f"{self.alias}-{datetime.now(timezone.utc).strftime('%Y%m%dt%H%M%S%f')}"

    def _create_index(self, name: str, aliases: dict, *, loading: bool = False) -> None:
        settings_ = INDEX_SETTINGS
        if loading:  # no periodic refresh while bulk-loading (refreshed once, before the swap)
            settings_ = {**INDEX_SETTINGS, "index": {**INDEX_SETTINGS["index"], "refresh_interval": "-1"}}
        self.client.indices.create(index=name, body={"settings": settings_, "mappings": MAPPINGS,
                                                     "aliases": aliases})

    def ensure_index(self) -> None:
        """Create the first index behind the alias if there is none (idempotent)."""
        if self._ready:
            return
        # (an index of that name, made by hand, also serves: search_reindex turns it into an alias)
        if not self.client.indices.exists(index=self.alias):
            try:
                self._create_index(self._new_index_name(), {self.alias: {}})
            except OpenSearchException:
                if not self.client.indices.exists(index=self.alias):  # not a concurrent creation
                    raise
        else:
            # an index made by an older Coko: the fields added since (the mapping is strict) are
            # added to it, so its documents can carry them; their values come with each book's next
            # change, or all at once with search_reindex
            try:
                self.client.indices.put_mapping(index=self.alias, body={"properties": MAPPINGS["properties"]})
            except OpenSearchException as exc:
                log.warning("search_mapping_not_updated", index=self.alias, error=str(exc))
        self._ready = True

    def _targets(self) -> list[str]:
        """Where a change goes: the alias, and an index being rebuilt if there is one."""
        targets = [self.alias]
        if self.client.indices.exists_alias(name=self.building):
            targets += sorted(self.client.indices.get_alias(name=self.building))
        return targets

    # --- writes ---------------------------------------------------------------------------------
    def book_sync(self, *, book_id: str) -> None:
        """Upsert a published book, delete any other; a stale version is ignored (idempotent)."""
        self.ensure_index()
        book = _books().filter(id=book_id).first()
        for index in self._targets():
            if book is not None and book.status == "published":
                document = book_document(book)
                try:
                    self.client.index(index=index, id=str(book.id), body=document,
                                      params={"version": book.version, "version_type": "external_gte"})
                except ConflictError:
                    pass  # a newer version is already there
            else:
                params = {"version": book.version, "version_type": "external_gte"} if book else {}
                try:
                    self.client.delete(index=index, id=str(book_id), params=params)
                except (NotFoundError, ConflictError):
                    pass  # not there, or a newer version is

    def reindex(self, *, chunk_size: int = 500) -> dict:
        """Rebuild the index from the database without downtime (see the module's docstring).

        Run one at a time: a rebuild drops what an earlier, interrupted one left behind."""
        started = datetime.now(timezone.utc)
        name = self._new_index_name()
        old = sorted(self.client.indices.get_alias(name=self.alias)) if self.client.indices.exists_alias(
            name=self.alias) else []
        concrete = not old and self.client.indices.exists(index=self.alias)
        if self.client.indices.exists_alias(name=self.building):  # left by a rebuild that was killed
            for index in self.client.indices.get_alias(name=self.building):
                self.client.indices.delete(index=index, ignore_unavailable=True)
        self._create_index(name, {self.building: {}}, loading=True)
        loaded = conflicts = 0
        try:
            books = _books().filter(status="published").order_by("id")
            actions = ({"_op_type": "index", "_index": name, "_id": str(book.id), "version": book.version,
                        "version_type": "external_gte", "_source": book_document(book)}
                       for book in books.iterator(chunk_size=chunk_size))
            for ok, item in helpers.streaming_bulk(self.client, actions, chunk_size=chunk_size,
                                                   raise_on_error=False, max_retries=2):
                if ok:
                    loaded += 1
                elif item.get("index", {}).get("status") == 409:
                    conflicts += 1  # an event already wrote a newer version
                else:
                    raise RuntimeError(f"bulk indexing failed: {item}")
            self.client.indices.put_settings(index=name, body={"index": {"refresh_interval": None}})
            self.client.indices.refresh(index=name)
            actions = [{"remove": {"index": index, "alias": self.alias}} for index in old]
            if concrete:
                actions.append({"remove_index": {"index": self.alias}})
            actions += [{"add": {"index": name, "alias": self.alias}},
                        {"remove": {"index": name, "alias": self.building}}]
            self.client.indices.update_aliases(body={"actions": actions})  # atomic: searches never miss
        except BaseException:
            self.client.indices.delete(index=name, ignore_unavailable=True)
            raise
        # belt and braces: anything changed while loading is synced again (stale copies are ignored)
        since = started - timedelta(seconds=5)
        for book_id in Book.objects.filter(updated_at__gte=since).values_list("id", flat=True):
            self.book_sync(book_id=str(book_id))
        for index in old:
            self.client.indices.delete(index=index, ignore_unavailable=True)
        self._ready = True
        log.info("search_reindexed", index=name, books=loaded, conflicts=conflicts, replaced=old)
        return {"index": name, "books": loaded, "replaced": old}

    # --- reads ----------------------------------------------------------------------------------
    def _query(self, query: str, filters: SearchFilters) -> dict:
        text = " ".join(query.split())
        alternatives = [
            # every word, typos tolerated in all of them
            {"multi_match": {"query": text, "fields": _MATCH_FIELDS, "operator": "and",
                             "fuzziness": "AUTO", "prefix_length": 1}},
        ]
        words = _WORD.findall(text)
        if words and len(words[-1]) >= 3 and not query[-1].isspace():
            # as you type (as in PostgreSQL): the last word of 3 letters or more may be half-typed
            alternatives.append({"multi_match": {"query": text, "type": "bool_prefix", "fields": _MATCH_FIELDS,
                                                 "operator": "and", "fuzziness": "AUTO", "prefix_length": 1}})
        must = {"bool": {"minimum_should_match": 1, "should": alternatives}}
        should = [
            {"multi_match": {"query": text, "fields": _RANKED_FIELDS, "type": "best_fields", "tie_breaker": 0.3}},
            {"multi_match": {"query": text, "fields": ["title.prefix^2", "authors.prefix"], "operator": "and"}},
        ]
        clauses = []
        if filters.category:
            clauses.append({"term": {"category_slugs": filters.category}})
        if filters.author_ids:
            clauses.append({"terms": {"author_ids": [str(i) for i in filters.author_ids]}})
        if filters.publisher_id:
            clauses.append({"term": {"publisher_id": str(filters.publisher_id)}})
        if filters.series_id:
            clauses.append({"term": {"series_id": str(filters.series_id)}})
        if filters.language:
            clauses.append({"term": {"language": filters.language}})
        if filters.access_model:
            clauses.append({"term": {"access_model": filters.access_model}})
        if filters.price_min_xof is not None:
            clauses.append({"range": {"price_xof": {"gte": int(filters.price_min_xof)}}})
        if filters.price_max_xof is not None:  # as the catalogue lists: books without a price pass
            clauses.append({"bool": {"should": [{"range": {"price_xof": {"lte": int(filters.price_max_xof)}}},
                                                {"bool": {"must_not": {"exists": {"field": "price_xof"}}}}],
                                     "minimum_should_match": 1}})
        return {"bool": {"must": [must], "should": should, "filter": clauses}}

    def search(self, *, query: str, filters: SearchFilters, limit: int, offset: int, lang: str,
               row_sql: str | None = None) -> SearchResult:
        if not query.strip():
            return SearchResult(hits=[], total=0, facets={name: {} for name in FACETS})
        body = {
            "query": self._query(query, filters),
            "sort": [{"_score": "desc"}, {"popularity": "desc"}, {"id": "asc"}],
            "from": int(offset), "size": int(limit),
            "track_total_hits": True,
            "_source": False,
            "aggs": {name: {"terms": {"field": field, "size": 200}} for name, field in _FACET_FIELDS.items()},
        }
        try:
            self.ensure_index()
            response = self.client.search(index=self.alias, body=body)
        except OpenSearchException as exc:
            log.warning("search_opensearch_unavailable", error=str(exc)[:200])
            from .pg import PostgresBackend

            return PostgresBackend().search(query=query, filters=filters, limit=limit, offset=offset, lang=lang)
        hits = [SearchHit(book_id=hit["_id"], score=round(float(hit["_score"] or 0), 6))
                for hit in response["hits"]["hits"]]
        facets = {name: {bucket["key"]: bucket["doc_count"] for bucket in response["aggregations"][name]["buckets"]}
                  for name in FACETS}
        facets = {name: dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) for name, counts in facets.items()}
        return SearchResult(hits=hits, total=response["hits"]["total"]["value"], facets=facets)
