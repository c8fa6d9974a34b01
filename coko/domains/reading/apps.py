from django.apps import AppConfig


class ReadingConfig(AppConfig):
    name = "coko.domains.reading"
    label = "reading"
    verbose_name = "Reading"
