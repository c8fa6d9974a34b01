"""HTTP edge of the catalogue's lists: collections staff put forward (``featured`` on a new
install) and the reader's own shelf. Mounted on ``catalog.http.router`` when the app is
ready (``apps.py``), so that ``http`` need not import this module (which uses its helpers).

Collections are public and cached like the other reads (``catalog.cache``); the shelf is
personal (``private, no-store``), read from the database each time.
"""

from __future__ import annotations

from uuid import UUID

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema

from coko.platform.auth.ninja import BearerAuth

from . import cache, errors, selectors, services
from . import http
from .http import _cached, _json, _lang, _Missing, anyone
from .schemas import BookCardOut

router = Router(tags=["catalog"])
reader = BearerAuth()


class PageQuery(Schema):
    cursor: str | None = Field(None, max_length=400, description="the next_cursor of the previous page")
    limit: int = Field(20, ge=1, le=100)


class CollectionOut(Schema):
    slug: str
    name: str = Field(description="in the language of Accept-Language")
    book_count: int = Field(description="published books in it")


class CollectionPageOut(CollectionOut):
    items: list[BookCardOut] = Field(description="its books, in the collection's order")
    next_cursor: str | None
    limit: int


class ShelfPageOut(Schema):
    items: list[BookCardOut] = Field(description="the books last put on the shelf first")
    next_cursor: str | None
    limit: int


# --- collections ----------------------------------------------------------------------------------
@router.get("/collections", response=list[CollectionOut], auth=anyone,
            summary="Collections staff put forward ('featured' first on a new install)")
def collections_list(request: HttpRequest):
    lang = _lang()
    return _cached(request, "collections", lambda: selectors.collection_list(lang=lang), lang=lang)


@router.get("/collections/{slug}", response=CollectionPageOut, auth=anyone,
            summary="A collection and its books, in order (paged)")
def collection_get(request: HttpRequest, slug: str, query: Query[PageQuery]):
    lang = _lang()

    def build():
        return selectors.collection_detail(slug=slug, lang=lang, cursor=query.cursor, limit=query.limit)

    keep = cache.storable(limit=query.limit, cursor=query.cursor)
    try:
        return _cached(request, "collection", build, keep=keep, slug=slug, q=query.model_dump(), lang=lang)
    except _Missing:
        raise errors.COLLECTION_NOT_FOUND(slug=slug) from None


# --- the reader's shelf ---------------------------------------------------------------------------
@router.get("/me/shelf", response=ShelfPageOut, auth=reader, summary="My shelf: the books I keep to read")
def shelf_list(request: HttpRequest, query: Query[PageQuery]):
    page = selectors.shelf_page(user_id=request.auth.user_id, lang=_lang(), cursor=query.cursor,
                                limit=query.limit)
    return _json(cache.dumps({"items": page.items, "next_cursor": page.next_cursor, "limit": page.limit}),
                 public=False)


@router.put("/me/shelf/{book_id}", response={204: None}, auth=reader,
            summary="Put a published book on my shelf (idempotent)")
def shelf_put(request: HttpRequest, book_id: UUID):
    services.shelf_book_add(user_id=request.auth.user_id, book_id=book_id)
    return HttpResponse(status=204)


@router.delete("/me/shelf/{book_id}", response={204: None}, auth=reader,
               summary="Take a book off my shelf (idempotent)")
def shelf_delete(request: HttpRequest, book_id: UUID):
    services.shelf_book_remove(user_id=request.auth.user_id, book_id=book_id)
    return HttpResponse(status=204)


def mount() -> None:
    """Put these routes on the catalogue's router (once: ``apps.CatalogConfig.ready``)."""
    if router not in [entry[1] for entry in http.router._routers]:
        http.router.add_router("", router)
