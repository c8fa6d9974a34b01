from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "coko.domains.catalog"
    label = "catalog"
    verbose_name = "Catalog"

    def ready(self) -> None:
        # the routes of collections and shelves join the catalogue's router (http_lists imports http)
        from . import http_lists

        http_lists.mount()
