"""The catalogue in the admin console: staff create, edit, publish and withdraw books.

Publishing and withdrawing go through the services (events, caches, search); plain edits
of a book's fields are saved and announced as ``book.updated`` like API edits.
"""

from django.contrib import admin, messages

from coko.platform.errors import DomainError
from coko.platform.events.admin import register_event_admin

from . import services
from .models import Author, Book, BookAuthor, Category, DeadLetter, Edition, Format, InboxEntry, OutboxEvent, Publisher, Series

register_event_admin(outbox=OutboxEvent, inbox=InboxEntry, dead_letter=DeadLetter)


def _actor(request) -> services.Actor:
    return services.Actor.of_user(str(request.user.pk))


class CreditInline(admin.TabularInline):
    model = BookAuthor
    extra = 1
    autocomplete_fields = ["author"]


class EditionInline(admin.TabularInline):
    model = Edition
    extra = 0
    fields = ["isbn13", "publisher", "publication_date", "label"]


@admin.register(Book)
class BookAdmin(admin.ModelAdmin):
    list_display = ["title", "language", "status", "access_model", "price_amount", "price_currency",
                    "rating_average", "popularity", "published_at"]
    list_filter = ["status", "access_model", "language"]
    search_fields = ["title", "id"]
    readonly_fields = ["status", "published_at", "version", "created_at", "updated_at", "owner_id",
                       "cover_file_id", "cover_urls"]
    filter_horizontal = ["categories"]
    inlines = [CreditInline, EditionInline]
    actions = ["publish", "withdraw"]
    list_per_page = 50

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
