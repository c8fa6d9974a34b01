from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "coko.domains.catalog"
    label = "catalog"
    verbose_name = "Catalog"
