"""Catalog tables, all in the PostgreSQL schema ``catalog``.

A *book* is the work readers browse (title, authors, categories, access model, rating);
an *edition* is one publication of it (ISBN, publisher, date); a *format* is one file of
an edition (EPUB, PDF, audiobook) whose bytes the files domain keeps (``file_id``).
Other domains' rows are referred to by plain UUIDs (``owner_id`` is an accounts user).
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Q, Value
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, NullIf

from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase

from .contracts import ACCESS_MODELS, BOOK_STATUSES, CREDIT_ROLES, CURRENCIES, FORMAT_KINDS


def _choices(values):
    return [(v, v) for v in values]


class Author(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    sort_name = models.CharField(max_length=200, db_index=True)  # "Senghor, Léopold Sédar"
    bio = models.TextField(blank=True)
    user_id = models.UUIDField(null=True, blank=True, db_index=True)  # the author's account, if any
    book_count = models.PositiveIntegerField(default=0)  # published books, kept by the services
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["name"], name="catalog_author_name")]
        constraints = [models.UniqueConstraint(fields=["name"], name="catalog_author_name_once")]

    def __str__(self) -> str:
        return self.name


class Publisher(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    book_count = models.PositiveIntegerField(default=0, editable=False)  # published books, kept by the services
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Category(models.Model):
    """A node of the category taxonomy (``fiction`` › ``fantasy``); names translatable."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    slug = models.SlugField(max_length=120, unique=True)
    name = models.CharField(max_length=120)
    translations = models.JSONField(default=dict, blank=True)  # {"fr": "Fantastique"}
    path = models.CharField(max_length=600, db_index=True, editable=False)  # "fiction/fantasy"
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "categories"
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path or self.slug

    def save(self, *args, **kwargs):
        parent_path = self.parent.path if self.parent_id else ""
        self.path = f"{parent_path}/{self.slug}" if parent_path else self.slug
        self.depth = self.path.count("/")
        super().save(*args, **kwargs)


class Series(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    book_count = models.PositiveIntegerField(default=0, editable=False)  # published books, kept by the services

    class Meta:
        verbose_name_plural = "series"

    def __str__(self) -> str:
        return self.name


#: the languages whose titles have a sort index (settings.LANGUAGES; a test keeps them equal)
TITLE_LANGUAGES = ("en", "fr")


def title_shown(lang: str):
    """The title a reader of ``lang`` is shown (its translation, else the original) as an SQL
    expression: the title sort orders by it, on the per-language index of ``Book.Meta``."""
    return Coalesce(NullIf(KT(f"translations__{lang}__title"), Value("")), F("title"),
                    output_field=models.CharField())


class Book(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(max_length=300)
    subtitle = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    translations = models.JSONField(default=dict, blank=True)  # {"fr": {"title": …, "description": …}}
    language = models.CharField(max_length=3, db_index=True)  # ISO 639-1 when it exists, else 639-3
    status = models.CharField(max_length=10, choices=_choices(BOOK_STATUSES), default="draft")
    access_model = models.CharField(max_length=12, choices=_choices(ACCESS_MODELS), default="free")
    price_amount = models.PositiveBigIntegerField(null=True, blank=True)  # integer minor units
    price_currency = models.CharField(max_length=3, choices=_choices(CURRENCIES), null=True, blank=True)
    price_xof = models.PositiveBigIntegerField(null=True, blank=True, editable=False)  # for price filters
    publication_date = models.DateField(null=True, blank=True)
    publication_year = models.SmallIntegerField(null=True, blank=True)  # may be B.C. (negative)
    publisher = models.ForeignKey(Publisher, null=True, blank=True, on_delete=models.SET_NULL, related_name="books")
    series = models.ForeignKey(Series, null=True, blank=True, on_delete=models.SET_NULL, related_name="books")
    series_position = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    authors = models.ManyToManyField(Author, through="BookAuthor", related_name="books")
    # the author sort's key: the first author's (role ``author``) sort name, kept by the services
    author_sort = models.CharField(max_length=200, null=True, blank=True, editable=False)
    categories = models.ManyToManyField(Category, related_name="books", blank=True)
    owner_id = models.UUIDField(null=True, blank=True, db_index=True)  # the accounts user who manages it
    cover_file_id = models.UUIDField(null=True, blank=True)
    cover_urls = models.JSONField(default=dict, blank=True)  # {"original": url, "small": url, …}
    rating_average = models.DecimalField(max_digits=3, decimal_places=2, default=0)
    rating_count = models.PositiveIntegerField(default=0)
    # the popularity sort's key: popularity_seed + editorial_boost + readers' activity (services.stats)
    popularity = models.BigIntegerField(default=0)
    popularity_seed = models.BigIntegerField(default=0, editable=False)  # from an import's own ratings (log scale)
    editorial_boost = models.IntegerField(default=0)  # staff's weight (the starter books': data/README.md)
    cover_source_url = models.URLField(max_length=1000, blank=True, editable=False)  # fetched into storage
    external_ids = models.JSONField(default=dict, blank=True)  # {"goodreads": "2767052"}
    version = models.PositiveIntegerField(default=1)  # grows with every change; events carry it
    search_vector = SearchVectorField(null=True, editable=False)
    search_text = models.TextField(blank=True, editable=False)  # unaccented words for trigram matching
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            # keyset pagination: (sort key, id) on published books
            models.Index(fields=["-popularity", "id"], name="catalog_book_popular", condition=Q(status="published")),
            models.Index(fields=["-published_at", "id"], name="catalog_book_newest", condition=Q(status="published")),
            models.Index(fields=["-rating_average", "id"], name="catalog_book_rating", condition=Q(status="published")),
            # the year sort (books without a year last, whichever the direction)
            models.Index(F("publication_year").desc(nulls_last=True), F("id"), name="catalog_book_year",
                         condition=Q(status="published")),
            models.Index(F("publication_year").asc(nulls_last=True), F("id").desc(), name="catalog_book_year_asc",
                         condition=Q(status="published")),
            # the author sort, both ways (books without an author last)
            models.Index(F("author_sort").asc(nulls_last=True), F("id"), name="catalog_book_author",
                         condition=Q(status="published")),
            models.Index(F("author_sort").desc(nulls_last=True), F("id").desc(), name="catalog_book_author_desc",
                         condition=Q(status="published")),
            # a publisher's and a series' books (browsing, the publisher= and series= filters)
            models.Index(fields=["publisher", "id"], name="catalog_book_publisher", condition=Q(status="published")),
            models.Index(fields=["series", "series_position", "id"], name="catalog_book_series",
                         condition=Q(status="published")),
            # the title sort, by the title a reader of each language is shown (selectors.title_shown)
            *(models.Index(title_shown(lang), F("id"), name=f"catalog_book_title_{lang}",
                           condition=Q(status="published")) for lang in TITLE_LANGUAGES),
            GinIndex(fields=["search_vector"], name="catalog_book_search"),
        ]
        constraints = [
            models.CheckConstraint(
                name="catalog_book_price_when_sold",
                condition=(Q(access_model="sale", price_amount__isnull=False, price_currency__isnull=False)
                           | (~Q(access_model="sale") & Q(price_amount__isnull=True))),
            ),
        ]

    def __str__(self) -> str:
        return self.title


class BookAuthor(models.Model):
    #: ``contributor``: any other part in the book (a preface, an introduction, an adaptation)
    ROLES = tuple((role, role) for role in CREDIT_ROLES)
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="credits")
    author = models.ForeignKey(Author, on_delete=models.PROTECT, related_name="credits")
    role = models.CharField(max_length=12, choices=ROLES, default="author")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["book", "author", "role"], name="catalog_credit_once")]

    def __str__(self) -> str:
        return self.author.name if self.role == "author" else f"{self.author.name} ({self.get_role_display()})"


class Edition(models.Model):
    """One publication of a book: its ISBN (normalised to ISBN-13), publisher and date."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="editions")
    isbn13 = models.CharField(max_length=13, null=True, blank=True, unique=True)
    publisher = models.ForeignKey(Publisher, null=True, blank=True, on_delete=models.SET_NULL)
    publication_date = models.DateField(null=True, blank=True)
    label = models.CharField(max_length=120, blank=True)  # "2nd edition", "Édition de poche"
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.isbn13 or self.label or str(self.id)


class Format(models.Model):
    """A file of an edition; its bytes live in the files domain (``file_id``)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    edition = models.ForeignKey(Edition, on_delete=models.CASCADE, related_name="formats")
    kind = models.CharField(max_length=8, choices=_choices(FORMAT_KINDS))
    file_id = models.UUIDField()
    media_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    koreader_md5 = models.CharField(max_length=32, null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["edition", "kind"], name="catalog_format_kind_once")]


class Collection(models.Model):
    """A list of books staff put forward (``featured`` …), in their order; its name translated."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    translations = models.JSONField(default=dict, blank=True)  # {"fr": "À la une"}
    position = models.PositiveIntegerField(default=0)  # collections' own order (home feeds)
    version = models.PositiveIntegerField(default=0, editable=False)  # grows with every change announced (``collection.*``)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "slug"]

    def __str__(self) -> str:
        return self.name


class CollectionItem(models.Model):
    """A book of a collection, at its place in the collection's order."""

    id = models.BigAutoField(primary_key=True)
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="collection_items")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        indexes = [models.Index(fields=["collection", "position", "id"], name="catalog_collection_order")]
        constraints = [models.UniqueConstraint(fields=["collection", "book"], name="catalog_collection_book_once")]

    def __str__(self) -> str:
        return f"{self.collection_id}: {self.book_id}"


class ShelfItem(models.Model):
    """A book on a reader's own shelf (``user_id``: an accounts user, a plain id)."""

    id = models.BigAutoField(primary_key=True)
    user_id = models.UUIDField()
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="shelf_items")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["user_id", "-added_at", "-id"], name="catalog_shelf_newest")]
        constraints = [models.UniqueConstraint(fields=["user_id", "book"], name="catalog_shelf_book_once")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.book_id}"


class OutboxEvent(OutboxEventBase):
    """Events the catalog domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the catalog domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events a catalog handler failed on after every retry; staff replay them."""
