"""Admin console: stored objects, their derivatives and uploads (read-only), events."""

from django.contrib import admin

from coko.platform.events.admin import register_event_admin

from .models import DeadLetter, Derivative, InboxEntry, OutboxEvent, StoredObject, Upload

register_event_admin(outbox=OutboxEvent, inbox=InboxEntry, dead_letter=DeadLetter)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the files use cases only: staff look, never edit."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DerivativeInline(admin.TabularInline):
    model = Derivative
    extra = 0
    fields = ("name", "media_type", "width", "height", "size", "sha256", "key", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class UploadInline(admin.TabularInline):
    model = Upload
    extra = 0
    fields = ("user_id", "filename", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(StoredObject)
class StoredObjectAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "media_type", "size", "sha256", "created_by", "created_at")
    list_filter = ("kind", "media_type")
    search_fields = ("=id", "=sha256", "=koreader_md5", "=created_by")
    ordering = ("-created_at",)
    readonly_fields = ("id", "kind", "media_type", "extension", "size", "sha256", "koreader_md5", "key", "width",
                       "height", "created_by", "created_at")
    inlines = [DerivativeInline, UploadInline]


@admin.register(Derivative)
class DerivativeAdmin(ReadOnlyAdmin):
    list_display = ("id", "source_id", "name", "width", "height", "size", "created_at")
    list_filter = ("name",)
    search_fields = ("=source__id", "=sha256")
    readonly_fields = ("source", "name", "media_type", "width", "height", "size", "sha256", "key", "created_at")


@admin.register(Upload)
class UploadAdmin(ReadOnlyAdmin):
    list_display = ("id", "object_id", "user_id", "filename", "created_at")
    search_fields = ("=user_id", "=object__id", "filename")
    readonly_fields = ("object", "user_id", "filename", "created_at")
