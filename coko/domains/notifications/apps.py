from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "coko.domains.notifications"
    label = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        # The delivery actor, declared on the broker the platform installed (its app is first).
        from . import tasks  # noqa: F401
