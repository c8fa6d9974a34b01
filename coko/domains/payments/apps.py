from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "coko.domains.payments"
    label = "payments"
    verbose_name = "Payments"

    def ready(self) -> None:
        # The confirmation actor, declared on the broker the platform installed (its app is first).
        from . import tasks  # noqa: F401
