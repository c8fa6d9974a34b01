from django.contrib import admin

from coko.platform.events.admin import register_event_admin

from .models import (DeadLetter, Delivery, DeliveryAttempt, DeviceToken, InboxEntry, InboxItem, Notification,
                     OutboxEvent, Preference, UserSettings)

register_event_admin(outbox=OutboxEvent, inbox=InboxEntry, dead_letter=DeadLetter)


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    fields = ("channel", "status", "attempts", "provider", "provider_id", "error", "sent_at")
    readonly_fields = fields
    can_delete = False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "user_id", "template", "category", "language", "created_at")
    list_filter = ("category", "template", "language")
    search_fields = ("=id", "=user_id", "idempotency_key")
    readonly_fields = ("id", "user_id", "template", "category", "context", "language", "idempotency_key",
                       "created_at")
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "notification_id", "channel", "status", "attempts", "provider", "updated_at")
    list_filter = ("channel", "status", "provider")
    exclude = ("destination",)
    readonly_fields = ("notification", "channel", "status", "attempts", "not_before", "provider",
                       "provider_id", "error", "device_token_id", "sent_at")


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin):
    list_display = ("id", "delivery_id", "number", "outcome", "provider", "at")
    list_filter = ("outcome",)


admin.site.register(Preference, list_display=("user_id", "category", "channel", "enabled"))
admin.site.register(UserSettings, list_display=("user_id", "time_zone", "quiet_hours_start", "quiet_hours_end"))
admin.site.register(DeviceToken, list_display=("id", "user_id", "kind", "created_at", "last_used_at"),
                    exclude=("token",))
admin.site.register(InboxItem, list_display=("id", "user_id", "title", "read_at", "created_at"))
