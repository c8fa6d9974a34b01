"""Dramatiq actors of the files domain (a thin edge over ``covers``)."""

from __future__ import annotations

import dramatiq

from . import covers


@dramatiq.actor(actor_name=covers.ACTOR_NAME, queue_name=covers.QUEUE_NAME, min_backoff=30_000,
                max_backoff=60 * 60 * 1000, time_limit=2 * 60 * 1000,
                retry_when=lambda retries, exc: isinstance(exc, covers.CoverFetchRetry) and retries < 5)
def cover_fetch_job(book_id: str) -> None:
    """Fetch an imported book's cover into storage (``covers.cover_fetch``); a passing failure
    (network, 429, 5xx) is retried with back-off, a final one drops the source."""
    covers.cover_fetch(book_id=book_id)
