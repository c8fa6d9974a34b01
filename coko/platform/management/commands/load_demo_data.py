"""manage.py load_demo_data: every domain's demo data, idempotently.

A domain that has demo data provides ``coko/domains/<name>/demo.py`` with
``load(*, stdout) -> int`` (the number of records created; 0 when already there).
"""

from django.core.management.base import BaseCommand
from django.utils.module_loading import autodiscover_modules


class Command(BaseCommand):
    help = "Load the demo data of every domain that has some (safe to run twice)."

    def handle(self, *args, **options):
        from django.apps import apps

        autodiscover_modules("demo")
        loaders = []
        for config in apps.get_app_configs():
            module = getattr(config.module, "demo", None)
            if module is not None and hasattr(module, "load"):
                loaders.append((config.label, module.load))
        if not loaders:
            self.stdout.write("no demo data yet: no domain provides a demo module")
            return
        for label, load in loaders:
            created = load(stdout=self.stdout)
            self.stdout.write(f"{label}: {created} demo record(s) created")
