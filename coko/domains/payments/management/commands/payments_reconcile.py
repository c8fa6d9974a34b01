"""manage.py payments_reconcile --provider wave --date 2026-03-01: a provider's statement of a
day against the ledger; prints each mismatch and records it as a flag for staff (never deletes).

Run it daily for yesterday (a Kubernetes CronJob); it is safe to run twice. Exit status 1 when
something does not match, 0 when all does.
"""

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError

from coko.domains.payments import providers, services
from coko.platform import clock


class Command(BaseCommand):
    help = "Compare a payment provider's transactions of a day with the ledger; print and flag the mismatches."

    def add_arguments(self, parser):
        parser.add_argument("--provider", required=True, choices=["wave", "orange_money", "stripe"])
        parser.add_argument("--date", help="YYYY-MM-DD (UTC); yesterday by default")

    def handle(self, *args, provider, date=None, **options):
        try:
            day = _day(date) if date else (clock.now() - timedelta(days=1)).date()
        except ValueError as exc:
            raise CommandError(f"--date: {exc}") from exc
        try:
            found = services.reconcile(provider=provider, day=day)
        except providers.Unavailable as exc:
            raise CommandError(f"{provider} did not answer: {exc}") from exc
        for m in found:
            local = f"{m.local[0]} {m.local[1]}" if m.local else "-"
            theirs = f"{m.provider[0]} {m.provider[1]}" if m.provider else "-"
            self.stdout.write(f"{m.kind}\treference={m.reference or '-'}\tprovider_ref={m.provider_ref or '-'}"
                              f"\tledger={local}\tprovider={theirs}")
        self.stdout.write(f"{provider} {day.isoformat()}: {len(found)} mismatch(es)")
        if found:
            raise SystemExit(1)


def _day(text: str):
    return date.fromisoformat(text)
