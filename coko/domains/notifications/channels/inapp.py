"""In-app: the message lands in the user's inbox (``GET /api/v1/notifications``)."""

from __future__ import annotations

from . import Outgoing, PermanentFailure, Sent


class InAppAdapter:
    name = "inapp"

    def send(self, message: Outgoing) -> Sent:
        from coko.domains.notifications.models import InboxItem, Notification

        notification_id = message.data.get("notification_id")
        if not notification_id:
            raise PermanentFailure("an in-app message needs its notification_id")
        notification = Notification.objects.filter(id=notification_id).first()
        if notification is None:
            raise PermanentFailure(f"no notification {notification_id}")
        # one inbox item per notification, even when a delivery is retried
        item, _created = InboxItem.objects.get_or_create(
            notification=notification,
            defaults={"user_id": notification.user_id, "category": notification.category,
                      "title": message.subject[:255], "body": message.text.strip()})
        return Sent(provider="inapp", provider_id=str(item.id))
