"""Browsing the catalogue: a ``contributor`` credit role (a preface, an introduction), indexes for
the year sort and for a publisher's and a series' books, and a trigram index on authors' names,
accents and case aside, for the author search that tolerates typos (``GET /authors?q=``) and the
``author=`` filter by name (``selectors.authors``).

The trigram index is written in SQL: ``pg_trgm`` may live in another schema than the catalog's
(see ``0004_search``), whose operator class must then be named with its schema.
"""

from django.db import migrations, models


def _trigram_index(apps, schema_editor):
    connection = schema_editor.connection
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        here = quote(cursor.fetchone()[0])
        cursor.execute("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace"
                       " WHERE e.extname = 'pg_trgm'")
        trgm = quote(cursor.fetchone()[0])
        cursor.execute(f"CREATE INDEX IF NOT EXISTS catalog_author_name_trgm ON {here}.catalog_author"
                       f" USING gin (lower({here}.unaccent_immutable(name)) {trgm}.gin_trgm_ops)")


def _trigram_index_drop(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP INDEX IF EXISTS catalog_author_name_trgm")


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0007_collections_shelf_popularity_covers'),
    ]

    operations = [
        migrations.AlterField(
            model_name='bookauthor',
            name='role',
            field=models.CharField(choices=[('author', 'author'), ('translator', 'translator'), ('illustrator', 'illustrator'), ('editor', 'editor'), ('narrator', 'narrator'), ('contributor', 'contributor')], default='author', max_length=12),
        ),
        migrations.AddIndex(
            model_name='book',
            index=models.Index(models.OrderBy(models.F('publication_year'), descending=True, nulls_last=True), models.F('id'), condition=models.Q(('status', 'published')), name='catalog_book_year'),
        ),
        migrations.AddIndex(
            model_name='book',
            index=models.Index(condition=models.Q(('status', 'published')), fields=['publisher', 'id'], name='catalog_book_publisher'),
        ),
        migrations.AddIndex(
            model_name='book',
            index=models.Index(condition=models.Q(('status', 'published')), fields=['series', 'series_position', 'id'], name='catalog_book_series'),
        ),
        migrations.RunPython(_trigram_index, _trigram_index_drop, elidable=False),
    ]
