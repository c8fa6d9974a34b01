from django.apps import AppConfig


class GamificationConfig(AppConfig):
    name = "coko.domains.gamification"
    label = "gamification"
    verbose_name = "Gamification"
