from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "coko.domains.analytics"
    label = "analytics"
    verbose_name = "Analytics"
