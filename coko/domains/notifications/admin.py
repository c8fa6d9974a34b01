"""Notifications in the admin console: what was sent to whom, on which channel, and why not."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

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


def recipient(delivery: Delivery) -> str:
    """Where a delivery went, masked (the address is encrypted at rest): ``a•••@example.sn``,
    ``+22177•••••67``, ``device 12``; the in-app inbox has no address."""
    destination = delivery.destination or ""
    if "@" in destination and delivery.channel == "email":
        local, domain = destination.rsplit("@", 1)
        return f"{local[:1]}•••@{domain}"
    if delivery.channel == "sms" and len(destination) > 8:
        return destination[:6] + "•" * (len(destination) - 8) + destination[-2:]
    if delivery.device_token_id is not None:
        return _("device %(id)s") % {"id": delivery.device_token_id}
    return ""


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "user_column", "channel", "recipient_column", "status", "error_column", "attempts",
                    "provider", "updated_at")
    list_select_related = ("notification",)
    search_fields = ("=notification__user_id", "=notification__id", "error")
    ordering = ("-updated_at",)
    list_filter = ("channel", "status", "provider")
    exclude = ("destination",)
    readonly_fields = ("notification", "channel", "status", "attempts", "not_before", "provider",
                       "provider_id", "error", "device_token_id", "sent_at")

    @admin.display(description=_("user"), ordering="notification__user_id")
    def user_column(self, delivery: Delivery) -> str:
        return str(delivery.notification.user_id)

    @admin.display(description=_("recipient"))
    def recipient_column(self, delivery: Delivery) -> str:
        return recipient(delivery)

    @admin.display(description=_("error"), ordering="error")
    def error_column(self, delivery: Delivery) -> str:
        return delivery.error if len(delivery.error) <= 120 else delivery.error[:119] + "…"


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin):
    list_display = ("id", "delivery_id", "number", "outcome", "provider", "at")
    list_filter = ("outcome",)


admin.site.register(Preference, list_display=("user_id", "category", "channel", "enabled"))
admin.site.register(UserSettings, list_display=("user_id", "time_zone", "quiet_hours_start", "quiet_hours_end"))
admin.site.register(DeviceToken, list_display=("id", "user_id", "kind", "created_at", "last_used_at"),
                    exclude=("token",))
admin.site.register(InboxItem, list_display=("id", "user_id", "title", "read_at", "created_at"))
