from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "coko.domains.community"
    label = "community"
    verbose_name = "Community"
