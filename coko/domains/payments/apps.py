from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "coko.domains.payments"
    label = "payments"
    verbose_name = "Payments"
