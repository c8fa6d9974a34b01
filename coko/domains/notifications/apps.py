from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "coko.domains.notifications"
    label = "notifications"
    verbose_name = "Notifications"
