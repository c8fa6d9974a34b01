"""Admin console views of every domain's outbox, inbox and dead letters."""

from __future__ import annotations

from django.contrib import admin, messages


class OutboxAdmin(admin.ModelAdmin):
    list_display = ("id", "type", "aggregate_id", "state", "occurred_at", "sent_at")
    list_filter = ("state", "type")
    search_fields = ("event_id", "aggregate_id", "type", "trace_id")
    ordering = ("-id",)
    readonly_fields = [f for f in ("id", "event_id", "type", "version", "occurred_at",
                                   "aggregate_id", "payload", "trace_id", "state", "sent_at")]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class InboxAdmin(admin.ModelAdmin):
    list_display = ("handler", "event_type", "event_id", "producer", "status", "processed_at")
    list_filter = ("status", "handler", "event_type")
    search_fields = ("event_id", "handler")
    ordering = ("-processed_at",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class DeadLetterAdmin(admin.ModelAdmin):
    list_display = ("handler", "event_type", "producer", "attempts", "last_failed_at",
                    "replay_requested_at", "replayed_at")
    list_filter = ("handler", "event_type", ("replayed_at", admin.EmptyFieldListFilter))
    search_fields = ("event_id", "handler", "error")
    ordering = ("-last_failed_at",)
    readonly_fields = ("handler", "event_id", "event_type", "producer", "envelope", "error",
                       "attempts", "first_failed_at", "last_failed_at", "replay_requested_at",
                       "replayed_at")
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Replay the selected dead letters", permissions=["change"])
    def replay(self, request, queryset):
        from coko.platform.events.delivery import dead_letter_replay

        count = dead_letter_replay(domain=self.model._meta.app_label,
                                   dead_letter_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"{count} dead letter(s) queued for replay.", messages.SUCCESS)


def register_event_admin(*, outbox, inbox, dead_letter) -> None:
    admin.site.register(outbox, OutboxAdmin)
    admin.site.register(inbox, InboxAdmin)
    admin.site.register(dead_letter, DeadLetterAdmin)
