"""The catalogue's books as payments sees them: a projection of ``book.*`` events."""

from __future__ import annotations

from coko.domains.catalog.contracts import BookChanged
from coko.platform import versioned
from coko.platform.services import use_case

from ..models import SellableBook
from ..selectors import book_version
from ._shared import DB


@use_case(DB)
def sellable_book_apply(*, book: BookChanged) -> bool:
    """Keep ``book``'s title, status, access model and price, unless a newer version is already
    kept (events of one book arrive in order, but a replay may bring an old one again).
    Returns whether anything was written."""
    fields = {"title": book.title[:500], "status": book.status, "access_model": book.access_model,
              "price_amount": book.price_amount, "price_currency": book.price_currency,
              "catalog_version": book.version}
    kept = SellableBook.objects.select_for_update().filter(book_id=book.book_id).first()
    if kept is None:
        SellableBook.objects.create(book_id=book.book_id, **fields)
    elif kept.catalog_version >= book.version:
        return False
    else:
        for name, value in fields.items():
            setattr(kept, name, value)
        kept.save()
    versioned.bump(book_version(book.book_id), using=DB)
    return True
