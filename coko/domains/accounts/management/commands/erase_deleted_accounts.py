"""manage.py erase_deleted_accounts: erase personal data of accounts past their grace period,
and forget the expired sign-up codes (with the addresses they were sent to).

Run it daily (a Kubernetes CronJob); it is safe to run twice.
"""

from django.core.management.base import BaseCommand

from coko.domains.accounts import services


class Command(BaseCommand):
    help = ("Erase the personal fields of closed accounts whose grace period is over; "
            "forget expired sign-up codes.")

    def handle(self, *args, **options):
        erased = services.accounts_erase_due()
        forgotten = services.signup_codes_forget()
        self.stdout.write(f"erased {erased} account(s), forgot {forgotten} expired sign-up code(s)")
