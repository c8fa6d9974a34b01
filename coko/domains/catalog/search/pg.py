"""Book search in PostgreSQL (the embedded default).

The document of a book (``Book.search_vector``) is a weighted tsvector:

    A  title (and translated titles): stemmed in the book's language, and as written
    B  authors and series, as written
    C  subtitle and category names (and their translations)
    D  description (and translated descriptions), stemmed

"Stemmed" uses the ``fr_unaccent`` / ``en_unaccent`` configurations (French and English
with accents stripped first), other languages ``simple_unaccent``; "as written" is
``simple_unaccent``, so a name or a half-typed word matches whatever the book's language.
``Book.search_text`` is the title and authors, unaccented and lowercased, for the trigram
typo fallback. Both are recomputed in SQL, inside the writing transaction, by
``documents_refresh`` (one UPDATE) and, for bulk loads, ``documents_refresh_all``.

A search is one statement (a second one when the typo fallback runs):

1. the words become a tsquery (``search_query``: each word in French, English or as
   written, stop words left out; the last one a prefix), matched with the GIN index on
   ``search_vector``; the published matches, with their rank, are materialised once, and
   the same statement returns the page (rank, then popularity, then id) and the facet
   counts over all the matches (language, access model, categories with their
   ancestors), hence the total;
2. only when that finds fewer than ``FUZZY_BELOW`` books, the same statement again with
   ``OR search_text %> words`` (pg_trgm word similarity, GIN trigram index) under
   ``SET LOCAL pg_trgm.word_similarity_threshold`` (stricter for several words, and when
   full-text search found something): full-text matches first, then the near misses by
   similarity ("Achebee", "Senghr", "Ngugi wa Tiongo").

Both run in one short transaction whose ``SET LOCAL`` settings suit them (no JIT, memory
for the facet hashes, the planner costs of a cached database). Cost grows with the number
of matches (each is ranked and counted in the facets): a few milliseconds for a title or a
name, tens of milliseconds for a word found in a tenth of a 100,000-book catalogue.
"""

from __future__ import annotations

import re
import unicodedata

from django.db import connections, transaction

from .base import SearchBackend, SearchFilters, SearchHit, SearchResult

DB = "catalog"

#: run the trigram fallback when full-text search finds fewer books than this
FUZZY_BELOW = 3
#: pg_trgm word similarity a near miss needs (0..1; pg_trgm's default is 0.6): for a one-word
#: query ("Achebee", "tolkein" = 0.5) and for longer ones (where one right word alone would
#: reach 0.5: "Cheikh Cisssé" must not find every Cheikh), plus ``_BESIDE_MATCHES`` when
#: full-text search found a few books already
WORD_SIMILARITY = 0.5
WORD_SIMILARITY_SEVERAL_WORDS = 0.6
WORD_SIMILARITY_BESIDE_MATCHES = 0.1
#: at most this many words of a query are used
MAX_WORDS = 8
FACETS = ("category", "language", "access_model")

# --- documents -------------------------------------------------------------------------------
def _part(config: str, text: str, weight: str) -> str:
    """One weighted part of a document (skipped, not parsed, when the text is empty)."""
    return f"CASE WHEN {text} = '' THEN ''::tsvector ELSE setweight(to_tsvector({config}, {text}), '{weight}') END"


_DOCUMENT = " || ".join([
    _part("search_config(d.language)", "d.title", "A"),
    _part("'simple_unaccent'", "d.title_all", "A"),
    _part("'fr_unaccent'", "d.fr_title", "A"),
    _part("'en_unaccent'", "d.en_title", "A"),
    _part("'simple_unaccent'", "d.names", "B"),
    _part("search_config(d.language)", "d.subtitle", "C"),
    _part("'fr_unaccent'", "d.fr_filed", "C"),
    _part("'en_unaccent'", "d.en_filed", "C"),
    _part("search_config(d.language)", "d.description", "D"),
    _part("'fr_unaccent'", "d.fr_description", "D"),
    _part("'en_unaccent'", "d.en_description", "D"),
    _part("'simple_unaccent'", "d.other_texts", "D"),
])

# The texts of each book, gathered with set-based joins (authors and categories aggregated
# once per book), then one UPDATE. ``__ONLY__`` restricts it to some books (or not).
_REFRESH = """
WITH target AS (
    SELECT b.id, b.language, b.title, b.subtitle, b.description, b.translations, b.series_id
    FROM catalog_book b __ONLY__
), credits AS (
    SELECT ba.book_id, string_agg(a.name, ' ' ORDER BY ba.position, a.name) AS names
    FROM catalog_bookauthor ba JOIN catalog_author a ON a.id = ba.author_id
    WHERE ba.book_id IN (SELECT id FROM target)
    GROUP BY ba.book_id
), filed AS (
    SELECT bc.book_id, string_agg(c.name || ' ' || coalesce(tr.names, ''), ' ' ORDER BY c.path) AS names
    FROM catalog_book_categories bc JOIN catalog_category c ON c.id = bc.category_id
    LEFT JOIN LATERAL (
        SELECT string_agg(value, ' ') AS names FROM jsonb_each_text(
            CASE WHEN jsonb_typeof(c.translations) = 'object' THEN c.translations ELSE '{}'::jsonb END)
    ) tr ON true
    WHERE bc.book_id IN (SELECT id FROM target)
    GROUP BY bc.book_id
), d AS (
    SELECT t.id, t.language, t.title, t.subtitle, t.description,
           btrim(t.title || ' ' || coalesce(tr.titles, '')) AS title_all,
           coalesce(t.translations #>> '{fr,title}', '') AS fr_title,
           coalesce(t.translations #>> '{en,title}', '') AS en_title,
           btrim(coalesce(cr.names, '') || ' ' || coalesce(s.name, '')) AS names,
           btrim(coalesce(t.translations #>> '{fr,subtitle}', '') || ' ' || coalesce(fi.names, '')) AS fr_filed,
           btrim(coalesce(t.translations #>> '{en,subtitle}', '') || ' ' || coalesce(fi.names, '')) AS en_filed,
           coalesce(t.translations #>> '{fr,description}', '') AS fr_description,
           coalesce(t.translations #>> '{en,description}', '') AS en_description,
           coalesce(tr.others, '') AS other_texts,
           coalesce(cr.names, '') AS authors
    FROM target t
    LEFT JOIN credits cr ON cr.book_id = t.id
    LEFT JOIN filed fi ON fi.book_id = t.id
    LEFT JOIN catalog_series s ON s.id = t.series_id
    LEFT JOIN LATERAL (
        SELECT string_agg(x.value ->> 'title', ' ') AS titles,
               string_agg(CASE WHEN x.key NOT IN ('fr', 'en') THEN concat_ws(' ', x.value ->> 'subtitle',
                          x.value ->> 'description') END, ' ') AS others
        FROM jsonb_each(CASE WHEN jsonb_typeof(t.translations) = 'object' THEN t.translations
                             ELSE '{}'::jsonb END) x
        WHERE jsonb_typeof(x.value) = 'object'
    ) tr ON true
)
, doc AS (
    SELECT d.id, __DOCUMENT__ AS vector,
           btrim(regexp_replace(lower(unaccent_immutable(d.title_all || ' ' || d.authors)),
                                '[^[:alnum:]]+', ' ', 'g')) AS text
    FROM d
)
UPDATE catalog_book b SET search_vector = doc.vector, search_text = doc.text
FROM doc
WHERE b.id = doc.id
  -- an unchanged document is not rewritten (a second full refresh writes nothing)
  AND (b.search_vector IS DISTINCT FROM doc.vector OR b.search_text IS DISTINCT FROM doc.text)
""".replace("__DOCUMENT__", _DOCUMENT)


def documents_refresh(*, book_ids) -> None:
    """Recompute the search documents of these books: one UPDATE, in the caller's transaction."""
    ids = [str(i) for i in book_ids]
    if not ids:
        return
    with connections[DB].cursor() as cursor:
        cursor.execute(_REFRESH.replace("__ONLY__", "WHERE b.id = ANY(%s::uuid[])"), [ids])


def documents_refresh_all() -> int:
    """Recompute every book's search document (bulk loads, ``manage.py search_reindex``).

    Set-based: authors and categories are aggregated once for all books and all rows are
    updated by one statement; documents that did not change are not rewritten. Then the
    table is vacuumed (or only analysed, inside a transaction) so the planner knows the new
    documents. Returns the number of documents that changed.
    """
    connection = connections[DB]
    with transaction.atomic(using=DB), connection.cursor() as cursor:
        # hash the aggregates in memory instead of sorting on disk
        cursor.execute("SELECT set_config('work_mem', '256MB', true)")
        cursor.execute(_REFRESH.replace("__ONLY__", ""))
        count = cursor.rowcount
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE catalog_book" if connection.in_atomic_block else "VACUUM (ANALYZE) catalog_book")
    return count


# --- queries ---------------------------------------------------------------------------------
_WORD = re.compile(r"[^\W_]+")


def query_words(query: str) -> list[str]:
    """The words of a query: letters and digits, lowercased (accents are left to PostgreSQL)."""
    text = unicodedata.normalize("NFC", query or "").lower()
    return _WORD.findall(text)[:MAX_WORDS]


_TRGM_SCHEMA: dict[str, str] = {}


def trgm_schema(connection) -> str:
    """The quoted schema of pg_trgm (the catalog's own unless it was installed elsewhere)."""
    key = f"{connection.settings_dict['HOST']}:{connection.settings_dict['PORT']}/{connection.settings_dict['NAME']}"
    if key not in _TRGM_SCHEMA:
        with connection.cursor() as cursor:
            cursor.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
                           " WHERE e.extname = 'pg_trgm'")
            row = cursor.fetchone()
        _TRGM_SCHEMA[key] = connection.ops.quote_name(row[0] if row else "catalog")
    return _TRGM_SCHEMA[key]


def _filter_sql(filters: SearchFilters, params: dict) -> str:
    """The filters on the book row (the category filter is applied to the matches, see _search_sql)."""
    clauses = []
    if filters.author_ids:
        params["authors"] = [str(i) for i in filters.author_ids]
        clauses.append("b.id IN (SELECT ba.book_id FROM catalog_bookauthor ba"
                       " WHERE ba.author_id = ANY(%(authors)s::uuid[]))")
    if filters.publisher_id:
        params["publisher"] = str(filters.publisher_id)
        clauses.append("b.publisher_id = %(publisher)s::uuid")
    if filters.series_id:
        params["series"] = str(filters.series_id)
        clauses.append("b.series_id = %(series)s::uuid")
    if filters.language:
        params["language"] = filters.language
        clauses.append("b.language = %(language)s")
    if filters.access_model:
        params["access_model"] = filters.access_model
        clauses.append("b.access_model = %(access_model)s")
    if filters.price_min_xof is not None:
        params["price_min"] = int(filters.price_min_xof)
        clauses.append("b.price_xof >= %(price_min)s")
    if filters.price_max_xof is not None:  # as the catalogue lists: books without a price pass
        params["price_max"] = int(filters.price_max_xof)
        clauses.append("(b.price_xof <= %(price_max)s OR b.price_xof IS NULL)")
    return "".join(f" AND {c}" for c in clauses)


def _search_sql(*, score: str, match: str, filters: str, category: bool, row: str | None) -> str:
    """The search statement.

    ``found``: every published book that matches (and passes the filters on its own row),
    once, with its score and a row number: the GIN index drives it. ``ancestors``: for each
    category, itself and its ancestors (the segments of its path), each numbered.
    ``filed``: the (book, category-or-ancestor) pairs of the books found, once each (counted
    on small integers: cheaper to hash than ids and slugs). ``m``: ``found``, or those of
    them filed under the category asked for. From ``m``, in the same statement: the page
    (kind 0, with its position) and the facet counts over every match (kinds 1-3); a
    category's count is the total the same search finds filtered by that category. With
    ``row`` (an SQL expression of the book ``page.id``), each page row carries its book whole;
    kind 4 says whether the words are nothing but stop words (then no typo fallback).
    """
    row = row or "NULL"
    found = "found" if category else "m"  # without a category filter, m is found itself
    if category:
        narrowed = (",\nm AS MATERIALIZED (SELECT * FROM found WHERE n IN (SELECT f.n FROM filed f"
                    " JOIN ancestors a ON a.k = f.k WHERE a.slug = %(category)s))")
        counted = "(SELECT k, count(*) AS n FROM filed WHERE n IN (SELECT n FROM m) GROUP BY k)"
    else:
        narrowed = ""
        counted = "(SELECT k, count(*) AS n FROM filed GROUP BY k)"
    return f"""
WITH q AS (SELECT search_query(%(words)s::text[], %(prefix)s) AS q),
{found} AS MATERIALIZED (
    SELECT b.id, b.language, b.access_model, b.popularity, {score} AS score,
           (row_number() OVER ())::int AS n
    FROM catalog_book b, q
    WHERE b.status = 'published' AND ({match}){filters}
),
ancestors AS MATERIALIZED (
    SELECT c.id AS category_id, a.k, a.slug
    FROM catalog_category c
    CROSS JOIN LATERAL unnest(string_to_array(c.path, '/')) AS s(slug)
    JOIN (SELECT slug, (row_number() OVER ())::int AS k FROM catalog_category) a ON a.slug = s.slug
),
filed AS {"MATERIALIZED " if category else ""}(
    SELECT DISTINCT f.n, a.k
    FROM {found} f
    JOIN catalog_book_categories bc ON bc.book_id = f.id
    JOIN ancestors a ON a.category_id = bc.category_id
){narrowed},
page AS (
    SELECT id, score, popularity FROM m
    ORDER BY score DESC, popularity DESC, id
    LIMIT %(limit)s OFFSET %(offset)s
)
SELECT 0 AS kind, id::text AS key, score::float8 AS value,
       row_number() OVER (ORDER BY score DESC, popularity DESC, id) AS position, {row}::text AS row
FROM page
UNION ALL
SELECT 1, language, count(*), 0, NULL FROM m GROUP BY language
UNION ALL
SELECT 2, access_model, count(*), 0, NULL FROM m GROUP BY access_model
UNION ALL
SELECT 3, a.slug, c.n, 0, NULL FROM {counted} c JOIN (SELECT DISTINCT k, slug FROM ancestors) a ON a.k = c.k
UNION ALL
SELECT 4, (search_query(%(words)s::text[], false) IS NULL)::text, 0, 0, NULL
"""


_FTS_MATCH = "b.search_vector @@ q.q"
_FTS_SCORE = "ts_rank(b.search_vector, q.q)"

#: for the search statement only (SET LOCAL): no JIT (compiling costs more than these
#: queries take), in-memory hashing for the facets, and the costs of a cached database
#: (the planner otherwise over-estimates prefix matches and scans the whole table)
#: and the typo fallback's word similarity threshold (``%>`` and its index), set with them so
#: that a search is at most three statements: these settings, full text, the fallback
_SETTINGS = ("SELECT set_config('jit', 'off', true), set_config('work_mem', '32MB', true),"
             " set_config('random_page_cost', '1.1', true),"
             " set_config('pg_trgm.word_similarity_threshold', %s, true)")


def _run(cursor, sql: str, params: dict) -> tuple[SearchResult, bool]:
    cursor.execute(sql, params)
    page: list[tuple[int, SearchHit]] = []
    facets: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    names = {1: "language", 2: "access_model", 3: "category"}
    stop_words_only = False
    for kind, key, value, position, row in cursor.fetchall():
        if kind == 0:
            page.append((position, SearchHit(book_id=key, score=round(float(value), 6), row=row)))
        elif kind == 4:
            stop_words_only = key == "true"
        else:
            facets[names[kind]][key] = int(value)
    facets = {name: dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))) for name, counts in facets.items()}
    total = sum(facets["language"].values())  # every book has a language
    return SearchResult(hits=[hit for _position, hit in sorted(page, key=lambda p: p[0])], total=total,
                        facets=facets), stop_words_only


class PostgresBackend(SearchBackend):
    name = "postgres"

    def search(self, *, query: str, filters: SearchFilters, limit: int, offset: int, lang: str,
               row_sql: str | None = None) -> SearchResult:
        words = query_words(query)
        if not words:
            return SearchResult(hits=[], total=0, facets={name: {} for name in FACETS})
        # as you type: the last word is a prefix, unless the query ends with a space
        params: dict = {"words": words, "prefix": not query[-1].isspace(), "limit": int(limit),
                        "offset": int(offset)}
        filters_sql = _filter_sql(filters, params)
        if filters.category:
            params["category"] = filters.category
        connection = connections[DB]
        threshold = WORD_SIMILARITY if len(words) == 1 else WORD_SIMILARITY_SEVERAL_WORDS
        trgm = trgm_schema(connection)  # looked up once per process
        with transaction.atomic(using=DB), connection.cursor() as cursor:
            cursor.execute(_SETTINGS, [f"{threshold:.2f}"])
            sql = _search_sql(score=_FTS_SCORE, match=_FTS_MATCH, filters=filters_sql, category=bool(filters.category),
                              row=row_sql)
            result, stop_words_only = _run(cursor, sql, params)
            if result.total >= FUZZY_BELOW or stop_words_only:
                # enough, or nothing but stop words ("the", "les", "à"): nothing to look for
                return result
            # few or no full-text matches: add the near misses (typos), by trigram word similarity
            params["text"] = " ".join(words)
            similarity = f"{trgm}.word_similarity(unaccent_immutable(%(text)s), b.search_text)"
            score = f"CASE WHEN b.search_vector @@ q.q THEN 1 + {_FTS_SCORE} ELSE {similarity} END"
            near = f"b.search_text OPERATOR({trgm}.%%>) unaccent_immutable(%(text)s)"
            if result.total:  # stricter beside full-text matches: the index finds the looser ones, this filters
                params["stricter"] = threshold + WORD_SIMILARITY_BESIDE_MATCHES
                near = f"({near} AND {similarity} >= %(stricter)s::real)"
            match = f"{_FTS_MATCH} OR {near}"
            sql = _search_sql(score=score, match=match, filters=filters_sql, category=bool(filters.category),
                              row=row_sql)
            return _run(cursor, sql, params)[0]
