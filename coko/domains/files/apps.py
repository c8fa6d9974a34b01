from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "coko.domains.files"
    label = "files"
    verbose_name = "Files"

    def ready(self) -> None:
        # the cover-fetch actor, declared on the broker the platform installed (its app is first)
        from . import tasks  # noqa: F401
