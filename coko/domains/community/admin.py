"""Community in the admin console: reviews staff read; the event tables."""

from __future__ import annotations

from django.contrib import admin

from coko.platform.events.admin import register_event_admin

from .models import DeadLetter, InboxEntry, OutboxEvent, Review

register_event_admin(outbox=OutboxEvent, inbox=InboxEntry, dead_letter=DeadLetter)


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    """Reviews as readers wrote them: read only (readers edit their own; moderation acts through the use cases)."""

    list_display = ("book_id", "user_id", "rating", "language", "spoiler", "helpful_count", "created_at")
    list_filter = ("rating", "language", "spoiler")
    search_fields = ("book_id", "user_id", "text")
    readonly_fields = [f.name for f in Review._meta.concrete_fields]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
