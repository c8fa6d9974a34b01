"""Book search in PostgreSQL: accent-insensitive, stemmed full-text search and trigram typo tolerance.

Creates, in the catalog's own schema (every catalog connection has ``search_path=catalog``;
in the split layout the catalog has a database of its own):

* the ``unaccent`` and ``pg_trgm`` extensions (both are *trusted* extensions: the database
  owner may create them, no superuser needed). ``CREATE EXTENSION IF NOT EXISTS`` does nothing
  when an extension is already installed in another schema of the same database (another
  domain, a DBA); everything below then names that schema explicitly, and the search code
  asks PostgreSQL where ``pg_trgm`` lives (``coko.domains.catalog.search.pg``);
* ``unaccent_immutable(text)``: ``unaccent`` as an IMMUTABLE function (usable in indexes
  and constant-folded by the planner);
* the text search configurations ``fr_unaccent``, ``en_unaccent`` and ``simple_unaccent``:
  copies of ``french``, ``english`` and ``simple`` whose word mappings strip accents first,
  so "Sénghor", "senghor" and "Senghor" (and "Bâ" and "Ba") are one lexeme;
* ``search_config(language)``: the configuration a book's own language is stemmed with;
* ``search_query(words, prefix_last)``: the tsquery of a search (see the function);
* a GIN trigram index on ``search_text`` (published books), for the typo fallback;
* ``search_vector`` stored in the row (STORAGE MAIN) rather than in the TOAST table.

Works on PostgreSQL 13+ (tested on 15 and 18). The documents themselves are computed by
``search.pg.documents_refresh`` / ``documents_refresh_all`` (``manage.py search_reindex``).
"""

from django.db import migrations


def _extension_schema(cursor, name: str) -> str:
    cursor.execute(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
        " WHERE e.extname = %s", [name])
    return cursor.fetchone()[0]


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0]
        here = quote(schema)
        cursor.execute(f"CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA {here}")
        cursor.execute(f"CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA {here}")
        unaccent = quote(_extension_schema(cursor, "unaccent"))
        trgm = quote(_extension_schema(cursor, "pg_trgm"))

    statements = [
        # unaccent() is STABLE (it reads the dictionary by name); with the dictionary named
        # explicitly it is safe to declare IMMUTABLE, the usual recipe.
        f"""
        CREATE OR REPLACE FUNCTION {here}.unaccent_immutable(text) RETURNS text
        LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT {unaccent}.unaccent('{unaccent}.unaccent'::regdictionary, $1) $$
        """,
    ]
    for name, base, stem in (("fr_unaccent", "french", "french_stem"),
                             ("en_unaccent", "english", "english_stem"),
                             ("simple_unaccent", "simple", "simple")):
        statements += [
            f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {here}.{name}",
            f"CREATE TEXT SEARCH CONFIGURATION {here}.{name} (COPY = pg_catalog.{base})",
            # words with non-ASCII letters (and their hyphenated parts) lose their accents
            # before stemming; ASCII words need no unaccenting
            f"ALTER TEXT SEARCH CONFIGURATION {here}.{name} ALTER MAPPING FOR word, hword, hword_part"
            f" WITH {unaccent}.unaccent, pg_catalog.{stem}",
        ]
    statements += [
        f"""
        CREATE OR REPLACE FUNCTION {here}.search_config(language text) RETURNS regconfig
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT CASE language WHEN 'fr' THEN '{schema}.fr_unaccent'::regconfig
                                   WHEN 'en' THEN '{schema}.en_unaccent'::regconfig
                                   ELSE '{schema}.simple_unaccent'::regconfig END $$
        """,
        # The tsquery of a search, from its words (already split on non-letters and lowercased):
        # every word must match, in French (stemmed), English (stemmed) or as written
        # (accents aside): (fr(w1) | en(w1) | simple(w1)) & (fr(w2) | …). Words that are stop
        # words in French or English ("la", "the", "de") are left out; a query of nothing but
        # stop words looks for nothing (NULL), as PostgreSQL's own websearch_to_tsquery does:
        # they are in nearly every book. With prefix_last, the last word (3 letters or more)
        # is a prefix, for search-as-you-type ("sengh" → Senghor).
        # IMMUTABLE like to_tsquery(regconfig, text): with constant arguments the planner
        # folds it, so the GIN index sees a constant query.
        f"""
        CREATE OR REPLACE FUNCTION {here}.search_query(words text[], prefix_last boolean) RETURNS tsquery
        LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
        AS $$
        DECLARE
            n integer := coalesce(array_length(words, 1), 0);
            result tsquery;
            fr tsquery; en tsquery; plain tsquery; term tsquery;
            word text; suffix text;
        BEGIN
            FOR i IN 1 .. n LOOP
                word := regexp_replace(words[i], '[^[:alnum:]]+', '', 'g');
                CONTINUE WHEN word = '';
                -- a stop word in French or English ("la", "the", "de"; and "les", which
                -- Snowball's French list lacks): left out
                CONTINUE WHEN to_tsvector('{schema}.fr_unaccent', word) = ''::tsvector
                           OR to_tsvector('{schema}.en_unaccent', word) = ''::tsvector
                           OR lower(word) = 'les';
                suffix := CASE WHEN prefix_last AND i = n AND length(word) >= 3 THEN ':*' ELSE '' END;
                fr := to_tsquery('{schema}.fr_unaccent', quote_literal(word) || suffix);
                en := to_tsquery('{schema}.en_unaccent', quote_literal(word) || suffix);
                plain := to_tsquery('{schema}.simple_unaccent', quote_literal(word) || suffix);
                term := fr;
                IF en <> fr THEN term := term || en; END IF;
                IF plain <> fr AND plain <> en THEN term := term || plain; END IF;
                result := CASE WHEN result IS NULL THEN term ELSE result && term END;
            END LOOP;
            RETURN result;  -- NULL when there is nothing to look for (only stop words): matches nothing
        END
        $$
        """,
        f"CREATE INDEX IF NOT EXISTS catalog_book_search_trgm ON {here}.catalog_book"
        f" USING gin (search_text {trgm}.gin_trgm_ops) WHERE status = 'published'",
        # Keep the document in the row: a search reads (ranks) the vector of every match, and
        # fetching it from the TOAST table costs an index lookup per row. With MAIN the
        # description (EXTENDED) is moved out of line first; the vector only as a last resort.
        f"ALTER TABLE {here}.catalog_book ALTER COLUMN search_vector SET STORAGE MAIN",
    ]
    for sql in statements:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        here = connection.ops.quote_name(cursor.fetchone()[0])
    for sql in (
        f"ALTER TABLE {here}.catalog_book ALTER COLUMN search_vector SET STORAGE EXTENDED",
        f"DROP INDEX IF EXISTS {here}.catalog_book_search_trgm",
        f"DROP FUNCTION IF EXISTS {here}.search_query(text[], boolean)",
        f"DROP FUNCTION IF EXISTS {here}.search_config(text)",
        f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {here}.fr_unaccent",
        f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {here}.en_unaccent",
        f"DROP TEXT SEARCH CONFIGURATION IF EXISTS {here}.simple_unaccent",
        f"DROP FUNCTION IF EXISTS {here}.unaccent_immutable(text)",
        # the extensions stay: something else in the database may use them
    ):
        schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("catalog", "0003_catalogue"),
    ]

    operations = [
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
