"""Reading in the admin console: readers' positions and their history, read-only (the
clients write them); the event tables."""

from django.contrib import admin

from coko.platform.events.admin import register_event_admin

from .models import DeadLetter, InboxEntry, OutboxEvent, Progress, ProgressEntry

register_event_admin(outbox=OutboxEvent, inbox=InboxEntry, dead_letter=DeadLetter)


class ProgressEntryInline(admin.TabularInline):
    model = ProgressEntry
    extra = 0
    can_delete = False
    fields = readonly_fields = ["server_time", "client_time", "progression", "authority", "device", "source"]
    ordering = ["-id"]


@admin.register(Progress)
class ProgressAdmin(admin.ModelAdmin):
    list_display = ["user_id", "book_id", "document", "progression", "authority", "device", "server_time",
                    "completed_at"]
    list_filter = ["authority", "source"]
    search_fields = ["=user_id", "=book_id", "=document"]
    readonly_fields = [f.name for f in Progress._meta.fields]
    inlines = [ProgressEntryInline]

    def has_add_permission(self, request):
        return False
