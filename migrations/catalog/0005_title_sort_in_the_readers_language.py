"""The title sort follows the title the reader is shown: one index per language on
``coalesce(nullif(translations->lang->>'title', ''), title), id`` (published books),
instead of the index on the untranslated title."""

import django.db.models.fields.json
import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0004_search'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='book',
            name='catalog_book_title',
        ),
        migrations.AddIndex(
            model_name='book',
            index=models.Index(django.db.models.functions.comparison.Coalesce(django.db.models.functions.comparison.NullIf(django.db.models.fields.json.KeyTextTransform('title', django.db.models.fields.json.KeyTextTransform('en', 'translations')), models.Value('')), models.F('title'), output_field=models.CharField()), models.F('id'), condition=models.Q(('status', 'published')), name='catalog_book_title_en'),
        ),
        migrations.AddIndex(
            model_name='book',
            index=models.Index(django.db.models.functions.comparison.Coalesce(django.db.models.functions.comparison.NullIf(django.db.models.fields.json.KeyTextTransform('title', django.db.models.fields.json.KeyTextTransform('fr', 'translations')), models.Value('')), models.F('title'), output_field=models.CharField()), models.F('id'), condition=models.Q(('status', 'published')), name='catalog_book_title_fr'),
        ),
    ]
