"""The read paths' denormalised keys: ``Book.author_sort`` (the author sort, on an index both
ways), ``Publisher.book_count`` and ``Series.book_count`` (their lists), filled here; the
ascending year index (the year sort reversed)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0008_browsing_publishers_series_and_credit_roles'),
    ]

    operations = [
        migrations.AddField(
            model_name='book',
            name='author_sort',
            field=models.CharField(blank=True, editable=False, max_length=200, null=True),
        ),
        migrations.AddField(
            model_name='publisher',
            name='book_count',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name='series',
            name='book_count',
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddIndex(
            model_name='book',
            index=models.Index(models.OrderBy(models.F('publication_year'), nulls_last=True), models.OrderBy(models.F('id'), descending=True), condition=models.Q(('status', 'published')), name='catalog_book_year_asc'),
        ),
        migrations.AddIndex(
            model_name='book',
            index=models.Index(models.OrderBy(models.F('author_sort'), nulls_last=True), models.F('id'), condition=models.Q(('status', 'published')), name='catalog_book_author'),
        ),
        migrations.AddIndex(
            model_name='book',
            index=models.Index(models.OrderBy(models.F('author_sort'), descending=True, nulls_last=True), models.OrderBy(models.F('id'), descending=True), condition=models.Q(('status', 'published')), name='catalog_book_author_desc'),
        ),
        migrations.RunSQL(
            """
            UPDATE catalog_book b SET author_sort = (
                SELECT a.sort_name FROM catalog_bookauthor ba JOIN catalog_author a ON a.id = ba.author_id
                 WHERE ba.book_id = b.id AND ba.role = 'author' ORDER BY ba.position, ba.id LIMIT 1);
            UPDATE catalog_publisher t SET book_count = (
                SELECT count(*) FROM catalog_book b WHERE b.publisher_id = t.id AND b.status = 'published');
            UPDATE catalog_series t SET book_count = (
                SELECT count(*) FROM catalog_book b WHERE b.series_id = t.id AND b.status = 'published');
            """,
            migrations.RunSQL.noop,
        ),
    ]
