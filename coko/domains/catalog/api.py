"""The catalog facade: the only functions other domains may call.

Arguments and results are plain values or the frozen types of ``catalog.contracts``;
models and querysets never cross this boundary.
"""

from __future__ import annotations

from . import cache, contracts, search, selectors, services


def _ref(book) -> contracts.BookRef:
    return contracts.BookRef(id=str(book.id), title=book.title, status=book.status)


def book_draft_from_metadata(*, actor_id: str, metadata: contracts.IngestedMetadata,
                             file: contracts.FormatFile | None = None,
                             cover: contracts.Cover | None = None) -> contracts.BookRef:
    """A draft book owned by ``actor_id``, pre-filled from a book file's own metadata.

    Raises ``PermissionDenied`` unless the actor may publish books.
    """
    book = services.book_draft_from_metadata(actor=services.Actor.of_user(actor_id), metadata=metadata,
                                             file=file, cover=cover)
    return _ref(book)


def book_format_attach(*, actor_id: str, book_id: str, file: contracts.FormatFile) -> None:
    """Attach a stored file to a book as its EPUB, PDF or audiobook (owner or staff)."""
    services.book_format_attach(actor=services.Actor.of_user(actor_id), book_id=book_id, file=file)


def book_cover_set(*, actor_id: str, book_id: str, cover: contracts.Cover) -> None:
    """Set a book's cover (owner or staff)."""
    services.book_cover_set(actor=services.Actor.of_user(actor_id), book_id=book_id, cover=cover)


def book_editable_by(*, book_id: str, user_id: str) -> bool:
    """Whether this user may change this book (its author with publish_books, or staff)."""
    return services.Actor.of_user(user_id).may_edit(owner_id=selectors.book_owner(book_id=book_id))


def book_files(*, book_id: str) -> contracts.BookFiles | None:
    """A book's access model and files (any status), or ``None`` if there is no such book."""
    return selectors.book_files(book_id=book_id)


def book_summaries(*, book_ids: list[str], lang: str = "en") -> list[contracts.BookSummary]:
    """Published books as short summaries, in the order asked (unknown ids skipped)."""
    return [contracts.BookSummary(id=c["id"], title=c["title"], language=c["language"],
                                  access_model=c["access_model"], authors=tuple(a["name"] for a in c["authors"]),
                                  cover_url=(c["cover"] or {}).get("medium") if c["cover"] else None)
            for c in selectors.books_by_ids(book_ids=book_ids, lang=lang)]


def book_stats_set(*, book_id: str, rating_average: float | None = None, rating_count: int | None = None,
                   popularity: int | None = None) -> None:
    """Record a book's rating aggregate or popularity (reviews, reads, sales)."""
    services.book_stats_set(book_id=book_id, rating_average=rating_average, rating_count=rating_count,
                            popularity=popularity)


def book_changed_apply(*, book_id: str) -> None:
    """Bring caches and the external search index in step with one book (event handlers)."""
    cache.book_changed(book_id)
    search.book_index_sync(book_id=book_id)


def starter_books_without_files() -> list[contracts.BookSummary]:
    """Demo data: the starter catalogue's books that have no file yet."""
    return selectors.starter_books_without_files()


def book_format_attach_trusted(*, book_id: str, file: contracts.FormatFile) -> None:
    """Attach a file to a book with no actor check — for trusted jobs (demo data) only,
    never on behalf of a request."""
    services.book_format_attach_trusted(book_id=book_id, file=file)


# --- covers the platform makes or fetches (the files domain's jobs) ---------------------------------
def book_cover_set_trusted(*, book_id: str, cover: contracts.Cover, replace: bool = True) -> bool:
    """Set a cover with no actor check — for trusted jobs (generated and fetched covers) only.
    ``replace=False`` leaves a book that has a cover alone. Whether it was set."""
    return services.book_cover_set_trusted(book_id=book_id, cover=cover, replace=replace)


def book_cover_source(*, book_id: str) -> str | None:
    """The URL an imported book's cover is to be fetched from, while it has no real cover."""
    return selectors.book_cover_source(book_id=book_id)


def book_cover_source_drop(*, book_id: str) -> None:
    """Forget a cover source whose fetch failed for good."""
    services.book_cover_source_drop(book_id=book_id)


def books_with_cover_source(*, limit: int) -> list[str]:
    """Published books whose cover is still to be fetched, most popular first (ids)."""
    return selectors.books_with_cover_source(limit=limit)


def starter_books_without_cover() -> list[contracts.BookSummary]:
    """Demo data: the starter catalogue's books that have no cover yet."""
    return selectors.books_without_cover(source="coko-starter")


def book_id_for_koreader_md5(*, md5: str) -> str | None:
    """The book one of whose files has this KOReader partial MD5 (KOReader sync's ``document``),
    the oldest such file's; None if no book's file matches. One indexed read."""
    from .models import Format

    book_id = (Format.objects.filter(koreader_md5=md5.lower()).order_by("created_at")
               .values_list("edition__book_id", flat=True).first())
    return str(book_id) if book_id else None
