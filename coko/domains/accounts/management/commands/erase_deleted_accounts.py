"""manage.py erase_deleted_accounts: erase personal data of accounts past their grace period.

Run it daily (a Kubernetes CronJob); it is safe to run twice.
"""

from django.core.management.base import BaseCommand

from coko.domains.accounts import services


class Command(BaseCommand):
    help = "Erase the personal fields of closed accounts whose grace period is over."

    def handle(self, *args, **options):
        erased = services.accounts_erase_due()
        self.stdout.write(f"erased {erased} account(s)")
