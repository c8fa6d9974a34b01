"""The catalogue in the admin console: staff create, edit, publish and withdraw books.

Publishing and withdrawing go through the services (events, caches, search); plain edits
of a book's fields are saved and announced as ``book.updated`` like API edits.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Prefetch
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from coko.platform.errors import DomainError
from coko.platform.events.admin import register_event_admin

from . import services, values
from .models import Author, Book, BookAuthor, Category, Collection, CollectionItem, DeadLetter, Edition, Format, \
    InboxEntry, OutboxEvent, Publisher, Series

register_event_admin(outbox=OutboxEvent, inbox=InboxEntry, dead_letter=DeadLetter)

#: The texts a book has in each language (``Book.translations``), and how the form shows them.
TEXTS = {"title": forms.CharField, "subtitle": forms.CharField, "description": forms.CharField}


def _actor(request) -> services.Actor:
    return services.Actor.of_user(str(request.user.pk))


def translation_field(language: str, part: str) -> str:
    return f"{part}_{language}"


class _BookFormBase(forms.ModelForm):
    """A book's fields, its language chosen from a list, and its translations as a title,
    subtitle and description per language of the console (``settings.LANGUAGES``), saved back
    into ``Book.translations`` (languages the console does not offer are kept as they are)."""

    class Meta:
        model = Book
        exclude = ["translations"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        in_use = Book.objects.order_by().values_list("language", flat=True).distinct()
        self.fields["language"] = forms.ChoiceField(
            label=capfirst(Book._meta.get_field("language").verbose_name), choices=values.language_choices(also=[*in_use, self.instance.language or "en"]),
            initial="en")
        for language, _name in settings.LANGUAGES:
            texts = (self.instance.translations or {}).get(language) or {}
            for part in TEXTS:
                self.initial.setdefault(translation_field(language, part), texts.get(part, ""))

    def save(self, commit=True):
        translations = dict(self.instance.translations or {})
        for language, _name in settings.LANGUAGES:
            texts = {part: self.cleaned_data[translation_field(language, part)].strip() for part in TEXTS}
            translations[language] = {part: text for part, text in texts.items() if text}
            if not translations[language]:
                del translations[language]
        self.instance.translations = translations
        return super().save(commit)


def _translation_form_fields() -> dict[str, forms.Field]:
    fields = {}
    for language, name in settings.LANGUAGES:
        for part in TEXTS:
            widget = forms.Textarea(attrs={"rows": 4}) if part == "description" else None
            fields[translation_field(language, part)] = forms.CharField(
                label=f"{capfirst(Book._meta.get_field(part).verbose_name)} ({name})", required=False, widget=widget,
                max_length=None if part == "description" else Book._meta.get_field(part).max_length)
    return fields


BookForm = type("BookForm", (_BookFormBase,), {"__module__": __name__, **_translation_form_fields()})


class CreditInline(admin.TabularInline):
    """The book's people (authors, translators …), each row named after the person."""

    model = BookAuthor
    extra = 1
    autocomplete_fields = ["author"]
    verbose_name = _("credit")
    verbose_name_plural = _("authors and other credits")


class EditionInline(admin.TabularInline):
    model = Edition
    extra = 0
    fields = ["isbn13", "publisher", "publication_date", "label"]


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    form = BookForm
    list_display = ["title", "authors_column", "language", "status", "access_model", "price_amount",
                    "price_currency", "rating_average", "popularity", "published_at", "updated_at"]
    list_filter = ["status", "access_model", "language"]
    search_fields = ["title", "=id", "authors__name"]
    search_help_text = _("Title, author or id.")
    ordering = ["-updated_at"]
    readonly_fields = ["status", "published_at", "version", "created_at", "updated_at", "owner_id",
                       "cover_file_id", "cover_urls", "rating_average", "rating_count", "popularity",
                       "popularity_seed"]
    filter_horizontal = ["categories"]
    inlines = [CreditInline, EditionInline]
    actions = ["publish", "withdraw"]
    list_per_page = 50

    def get_fieldsets(self, request, obj=None):
        translated = [translation_field(language, part) for language, _n in settings.LANGUAGES for part in TEXTS]
        others = [name for name in self.get_fields(request, obj) if name not in translated]
        return [(None, {"fields": others}), (_("Translations"), {"fields": translated})]

    def get_queryset(self, request):
        credits = BookAuthor.objects.filter(role="author").select_related("author").order_by("position")
        return super().get_queryset(request).prefetch_related(Prefetch("credits", credits, to_attr="author_credits"))

    @admin.display(description=_("authors"))
    def authors_column(self, book: Book) -> str:
        return ", ".join(credit.author.name for credit in book.author_credits)

    def save_model(self, request, obj, form, change):
        # popularity = seed + editorial boost + readers' activity (services.stats): a new boost shifts it
        if "editorial_boost" in form.changed_data:
            obj.popularity += obj.editorial_boost - (form.initial.get("editorial_boost") or 0)
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.book_admin_saved(book_id=form.instance.pk)

    @admin.action(description="Publish the selected books")
    def publish(self, request, queryset):
        self._each(request, queryset, services.book_publish, "published")

    @admin.action(description="Withdraw the selected books")
    def withdraw(self, request, queryset):
        self._each(request, queryset, services.book_withdraw, "withdrawn")

    def _each(self, request, queryset, action, verb):
        done = 0
        for book_id in queryset.values_list("id", flat=True):
            try:
                action(actor=_actor(request), book_id=book_id)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"{book_id}: {exc.message}", messages.ERROR)
        self.message_user(request, f"{done} book(s) {verb}.")


@admin.register(Author)
class AuthorAdmin(admin.ModelAdmin):
    list_display = ["name", "sort_name", "book_count", "user_id"]
    search_fields = ["name"]
    readonly_fields = ["book_count"]


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["path", "name", "depth", "position"]
    search_fields = ["slug", "name"]
    readonly_fields = ["path", "depth"]


@admin.register(Publisher)
class PublisherAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Series)
class SeriesAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Format)
class FormatAdmin(admin.ModelAdmin):
    list_display = ["edition", "kind", "media_type", "size", "sha256", "koreader_md5"]
    readonly_fields = ["edition", "kind", "file_id", "media_type", "size", "sha256", "koreader_md5"]



# --- collections: staff name them in each language and order their books (``featured`` first) ---
def _name_field(language: str) -> str:
    return f"name_{language}"


class _CollectionFormBase(forms.ModelForm):
    """The collection's name, and its translation in each language of the console, saved into
    ``Collection.translations`` (other languages kept as they are)."""

    class Meta:
        model = Collection
        exclude = ["translations"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for language, _name in settings.LANGUAGES:
            self.initial.setdefault(_name_field(language), (self.instance.translations or {}).get(language, ""))

    def save(self, commit=True):
        translations = dict(self.instance.translations or {})
        for language, _name in settings.LANGUAGES:
            name = self.cleaned_data[_name_field(language)].strip()
            if name:
                translations[language] = name
            else:
                translations.pop(language, None)
        self.instance.translations = translations
        return super().save(commit)


CollectionForm = type("CollectionForm", (_CollectionFormBase,), {"__module__": __name__, **{
    _name_field(language): forms.CharField(label=f"{_('name')} ({name})", required=False, max_length=120)
    for language, name in settings.LANGUAGES}})


class CollectionItemInline(admin.TabularInline):
    """The collection's books, in their order (position, smallest first)."""

    model = CollectionItem
    extra = 1
    autocomplete_fields = ["book"]
    fields = ["position", "book"]
    ordering = ["position", "id"]
    verbose_name = _("book")
    verbose_name_plural = _("books, in their order")


@admin.register(Collection)
class CollectionAdmin(admin.ModelAdmin):
    form = CollectionForm
    list_display = ["slug", "name", "position", "updated_at"]
    search_fields = ["slug", "name"]
    ordering = ["position", "slug"]
    inlines = [CollectionItemInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.collection_changed(collection=form.instance)

    def delete_model(self, request, obj):
        services.collection_deleting(collection=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for collection in queryset:
            services.collection_deleting(collection=collection)
        super().delete_queryset(request, queryset)
