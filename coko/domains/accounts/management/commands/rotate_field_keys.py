"""manage.py rotate_field_keys: re-encrypt accounts' encrypted columns with the newest key.

After prepending a new key to COKO_FIELD_KEYS (and deploying), run this; then the
old key can be dropped. Safe to run twice: rows already under the newest key are skipped.
"""

from django.core.management.base import BaseCommand

from coko.platform.crypto import rotate_encrypted_fields

from ...models import User


class Command(BaseCommand):
    help = "Re-encrypt the accounts domain's encrypted fields with the newest COKO_FIELD_KEYS key."

    def handle(self, *args, **options):
        rewritten = rotate_encrypted_fields(User, ["phone"])
        self.stdout.write(f"re-encrypted {rewritten} row(s)")
