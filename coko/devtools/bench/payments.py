"""make bench-payments: what ``payments.api.has_access`` costs, in microseconds.

It is asked on every download and every sync, so it must be cheap. In one process with the
real settings, the real PostgreSQL and the real cache Redis, on a catalogue of sellable books
(free, subscription, for sale) and readers with a pass, with purchases, with nothing, it
prints mean / p50 / p99 of:

* ``warm``: the answer from the versioned cache (one Redis round trip), what almost every call
  costs;
* ``database``: the same answer computed from PostgreSQL (``access_compute``: up to four
  small indexed queries), the baseline, measured interleaved in the same run;
* ``after a change``: the first call after the reader's entitlements changed (a bump: the
  entry is computed again and stored).

Aim (issue 13): warm p99 under 1 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import uuid


def _prepare_environment() -> None:
    os.environ.update({"DJANGO_SETTINGS_MODULE": "config.settings", "COKO_REDIS_NAMESPACE": "cokobench",
                       "COKO_LOG_CONSOLE": "1", "DEBUG": "0", "LOG_LEVEL": "WARNING"})


def _summary(samples_ns: list[int]) -> str:
    values = sorted(samples_ns)
    p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
    return (f"mean {statistics.fmean(values) / 1000:8.1f} µs   p50 {values[len(values) // 2] / 1000:8.1f} µs   "
            f"p99 {p99 / 1000:8.1f} µs")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--iterations", type=int, default=5000, help="calls per scenario")
    parser.add_argument("--books", type=int, default=2000, help="sellable books")
    options = parser.parse_args()
    _prepare_environment()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from coko.platform import clock, versioned
    from coko.domains.payments import api, selectors
    from coko.domains.payments.models import Plan, PlanPrice, Purchase, SellableBook, Subscription

    rng = random.Random(7)
    SellableBook.objects.filter(title__startswith="bench ").delete()
    books = [SellableBook(book_id=uuid.uuid4(), title=f"bench {i}", status="published",
                          access_model=("free", "subscription", "sale")[i % 3],
                          price_amount=2000 if i % 3 == 2 else None, price_currency="XOF" if i % 3 == 2 else None,
                          catalog_version=1) for i in range(options.books)]
    SellableBook.objects.bulk_create(books)
    plan, _ = Plan.objects.get_or_create(slug="bench-week", defaults={"names": {"en": "Bench"}, "period": "week"})
    PlanPrice.objects.get_or_create(plan=plan, currency="XOF", defaults={"amount": 500})
    readers = [uuid.uuid4() for _ in range(300)]
    now = clock.now()
    from datetime import timedelta

    Subscription.objects.bulk_create([Subscription(user_id=r, plan=plan, status="active", source="order",
                                                   starts_at=now, ends_at=now + timedelta(days=7))
                                      for r in readers[:100]])
    from coko.domains.payments.models import Order

    sale = [b for b in books if b.access_model == "sale"]
    for reader in readers[100:200]:
        for book in rng.sample(sale, 3):
            order = Order.objects.create(user_id=reader, kind="book", book_id=book.book_id, amount=2000,
                                         currency="XOF", status="paid", expires_at=now)
            Purchase.objects.create(user_id=reader, book_id=book.book_id, order=order)
    pairs = [(rng.choice(readers), rng.choice(books).book_id) for _ in range(options.iterations)]
    for user_id, book_id in pairs:  # warm the cache
        api.has_access(user_id=user_id, book_id=book_id)

    warm, database, changed = [], [], []
    for user_id, book_id in pairs:
        started = time.perf_counter_ns()
        api.has_access(user_id=user_id, book_id=book_id)
        warm.append(time.perf_counter_ns() - started)
        started = time.perf_counter_ns()
        selectors.access_compute(user_id=user_id, book_id=book_id)
        database.append(time.perf_counter_ns() - started)
    for user_id, book_id in pairs[: max(200, options.iterations // 10)]:
        versioned.bump(selectors.user_version(user_id))
        started = time.perf_counter_ns()
        api.has_access(user_id=user_id, book_id=book_id)
        changed.append(time.perf_counter_ns() - started)

    print(f"payments.api.has_access, {options.iterations} calls over {options.books} books and {len(readers)} readers "
          f"(Python {sys.version.split()[0]}, {os.cpu_count()} cores)")
    print(f"  warm (versioned cache)      {_summary(warm)}")
    print(f"  database (the baseline)     {_summary(database)}")
    print(f"  first call after a change   {_summary(changed)}")
    return 0


if __name__ == "__main__":
    from coko.devtools.bench.machine import machine_load

    with machine_load("bench-payments"):
        status = main()
    sys.exit(status)
