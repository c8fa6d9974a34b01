from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "coko.domains.recommendations"
    label = "recommendations"
    verbose_name = "Recommendations"
