"""The whole path with real processes: a publish in the catalog's outbox → the relay → a
dramatiq worker runs the catalog's own handler, which invalidates the cached reads."""

from __future__ import annotations

import time

import pytest
from django.apps import apps
from django.conf import settings
from django.core.cache import cache as django_cache

from coko.domains.catalog import cache
from tests.platform.events.conftest import Processes

from .conftest import published

pytestmark = [pytest.mark.django_db(transaction=True, databases="__all__"), pytest.mark.live]


def test_a_published_book_is_applied_once_by_the_catalog_handler(author, django_db_setup):
    InboxEntry = apps.get_model("catalog", "InboxEntry")
    book = published(author)
    listings = f"{settings.REDIS_NAMESPACE}:v:{cache.book_version(book['id'])}"
    redis = django_cache.redis_client()
    before = redis.get(listings)
    processes = Processes(django_db_setup)
    try:
        processes.worker(threads=2)
        processes.relay()
        deadline = time.monotonic() + 60
        # the handler's effects: its inbox entry (once) and the book's bumped version
        while not (InboxEntry.objects.filter(handler__contains="book_changed_sync").exists()
                   and redis.get(listings) != before):
            if time.monotonic() > deadline:
                raise AssertionError(processes.logs())
            time.sleep(0.2)
        logs = processes.logs()
    finally:
        processes.stop_all()
    [entry] = InboxEntry.objects.filter(handler__contains="book_changed_sync")
    assert entry.event_id == apps.get_model("catalog", "OutboxEvent").objects.get(
        type="book.published", aggregate_id=book["id"]).event_id
    assert entry.status == 0, logs  # applied, not dead-lettered
