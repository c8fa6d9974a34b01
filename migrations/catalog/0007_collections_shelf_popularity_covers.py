"""Collections (``featured``), readers' shelves, popularity from seeds and editorial weight,
imported covers fetched into storage (issue 11).

Books already imported are brought in line (the same numbers the importers now write;
``importing.writer.popularity_seed`` and ``importing.starter.STARTER_EDITORIAL_BOOST``):

* goodbooks books: ``popularity_seed`` = round(1000 · ln(1 + ratings) / ln(1 + 5,000,000)),
  and their popularity that seed (it was the raw ratings count);
* starter books: an editorial boost of 750, added to their popularity;
* an external cover URL (no stored cover) becomes the source the cover job fetches from:
  no answer shows it any more.
"""

import django.db.models.deletion
import uuid
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0006_outbox_trace_context'),
    ]

    operations = [
        migrations.CreateModel(
            name='Collection',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('slug', models.SlugField(max_length=60, unique=True)),
                ('name', models.CharField(max_length=120)),
                ('translations', models.JSONField(blank=True, default=dict)),
                ('position', models.PositiveIntegerField(default=0)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ['position', 'slug'],
            },
        ),
        migrations.AddField(
            model_name='book',
            name='cover_source_url',
            field=models.URLField(blank=True, editable=False, max_length=1000),
        ),
        migrations.AddField(
            model_name='book',
            name='editorial_boost',
            field=models.IntegerField(default=0),
        ),
        migrations.AddField(
            model_name='book',
            name='popularity_seed',
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.CreateModel(
            name='CollectionItem',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('position', models.PositiveIntegerField(default=0)),
                ('book', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='collection_items', to='catalog.book')),
                ('collection', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='items', to='catalog.collection')),
            ],
            options={
                'ordering': ['position', 'id'],
                'indexes': [models.Index(fields=['collection', 'position', 'id'], name='catalog_collection_order')],
                'constraints': [models.UniqueConstraint(fields=('collection', 'book'), name='catalog_collection_book_once')],
            },
        ),
        migrations.CreateModel(
            name='ShelfItem',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('user_id', models.UUIDField()),
                ('added_at', models.DateTimeField(auto_now_add=True)),
                ('book', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='shelf_items', to='catalog.book')),
            ],
            options={
                'indexes': [models.Index(fields=['user_id', '-added_at', '-id'], name='catalog_shelf_newest')],
                'constraints': [models.UniqueConstraint(fields=('user_id', 'book'), name='catalog_shelf_book_once')],
            },
        ),
        migrations.RunSQL(
            sql=[
                "UPDATE catalog_book SET popularity_seed = round(1000 * ln(1 + rating_count) / ln(1 + 5000000)),"
                " popularity = round(1000 * ln(1 + rating_count) / ln(1 + 5000000))"
                " WHERE external_ids ? 'goodreads'",
                "UPDATE catalog_book SET editorial_boost = 750, popularity = popularity + 750"
                " WHERE external_ids ? 'coko-starter' AND editorial_boost = 0",
                "UPDATE catalog_book SET cover_source_url = left(coalesce(cover_urls->>'original',"
                " cover_urls->>'small', ''), 1000), cover_urls = '{}'::jsonb"
                " WHERE cover_file_id IS NULL AND cover_urls <> '{}'::jsonb",
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
