from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "coko.domains.files"
    label = "files"
    verbose_name = "Files"
