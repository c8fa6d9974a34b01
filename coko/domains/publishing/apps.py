from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "coko.domains.publishing"
    label = "publishing"
    verbose_name = "Publishing"
