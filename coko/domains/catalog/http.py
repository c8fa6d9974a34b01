"""HTTP edge of the catalog domain: the brief's routes under /api/v1 (books, authors, categories).

Thin: parse, call a service or selector, shape the answer. Reads readers make all the time
(lists, a book, search, authors, categories) are served as cached JSON bytes (see
``catalog.cache``), with ``ETag`` (304 on ``If-None-Match``) and Brotli or gzip from the platform.
``fields=id,title,cover`` trims list items for slow networks.
"""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import get_language
from ninja import Query, Router, Schema, Status

from coko.platform.auth.ninja import BearerAuth, OptionalBearerAuth, require_permission
from coko.platform.http.client import client_ip
from coko.platform.http.compression import ENCODINGS, compress, negotiate
from coko.platform.http.openapi import error_statuses
from coko.platform.ratelimit import rate_limit_check

from . import cache, errors, selectors, services
from .schemas import (
    CARD_FIELDS,
    AuthorDetailOut,
    AuthorPageOut,
    AuthorQuery,
    BookFilterQuery,
    BookIn,
    BookListOut,
    BookListQuery,
    BookOut,
    BookPatch,
    CategoryIn,
    CategoryOut,
    Credit,
    NamedPageOut,
    NameQuery,
    PageQuery,
    PublisherDetailOut,
    SearchOut,
    SearchQuery,
    SeriesDetailOut,
    Texts,
    WithdrawIn,
)

router = Router(tags=["catalog"])
anyone = OptionalBearerAuth()
publisher = require_permission("publish_books")


# --- helpers ------------------------------------------------------------------------------------
def _lang() -> str:
    lang = (get_language() or settings.LANGUAGE_CODE).split("-")[0]
    return lang if lang in dict(settings.LANGUAGES) else "en"


def _json(body: bytes, *, status: int = 200, public: bool = True) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="application/json")
    response["Cache-Control"] = "public, max-age=30" if public else "private, no-store"
    response["Vary"] = "Accept-Language, Accept-Encoding"
    return response


def _cached(request: HttpRequest, kind: str, build, *, keep: bool = True,
            versions: tuple[str, ...] = (cache.LISTINGS,), **params) -> HttpResponse:
    """A hot read from the catalog cache, already compressed in the coding the client prefers
    (Brotli, gzip; the platform's compression middleware leaves an encoded response alone) and
    with its ETag (the conditional-GET middleware answers 304 from it). ``params``: normalised,
    the key's only input; ``keep=False``: answered, not stored (``catalog.cache.storable``);
    ``versions``: what the entry was built from (``catalog.cache``: a page, or one book)."""
    encoding = negotiate(request.META.get("HTTP_ACCEPT_ENCODING", ""))
    body, etag = cache.cached_response(kind, build, encoding=encoding, keep=keep, versions=versions, **params)
    if body == (_NULL[encoding] if encoding else b"null"):
        raise _Missing()
    response = _json(body)
    response["ETag"] = f"W/{etag}" if encoding else etag
    if encoding:
        response["Content-Encoding"] = encoding
    return response


class _Missing(Exception):
    """The cached read found nothing (a 404 for the route to phrase)."""


_NULL = {encoding: compress(b"null", encoding) for encoding in ENCODINGS}


def _fields(raw: str | None) -> tuple[str, ...] | None:
    if not raw:
        return None
    wanted = tuple(dict.fromkeys(f.strip() for f in raw.split(",") if f.strip()))
    unknown = [f for f in wanted if f not in CARD_FIELDS]
    if unknown:
        raise errors.UNKNOWN_FIELDS(fields=unknown, allowed=list(CARD_FIELDS))
    return tuple(sorted(set(wanted) | {"id"}))


def _trim(items: list[dict], fields: tuple[str, ...] | None) -> list[dict]:
    if not fields:
        return items
    return [{k: item[k] for k in fields} for item in items]


def _keyed(query: Schema, fields: tuple[str, ...] | None = None, **normalised) -> dict:
    """A read's key parameters: the schema's own (nothing else the client sent), with the
    sparse fields as a set and ``normalised`` values in place of the raw ones."""
    return {**query.model_dump(exclude={"fields"}), "fields": fields, **normalised}


def _author(query: BookFilterQuery) -> str | None:
    """The ``author`` filter as keyed and searched (an id, or a name: lower case, single spaces)."""
    return cache.search_text(query.author) if query.author else None


def _filters(query: BookFilterQuery) -> selectors.BookFilters:
    return selectors.BookFilters(
        category=query.category, author=_author(query),
        publisher_id=str(query.publisher) if query.publisher else None,
        series_id=str(query.series) if query.series else None,
        language=query.language, access_model=query.access_model,
        price_min_xof=query.price_min, price_max_xof=query.price_max)


def _actor(request: HttpRequest) -> services.Actor:
    principal = request.auth
    return services.Actor(user_id=str(principal.user_id), is_staff=principal.is_admin,
                          can_publish=principal.has_permission("publish_books"))


def _credit(credit: Credit | str) -> services.AuthorCredit:
    if isinstance(credit, str):
        return services.AuthorCredit(name=credit)
    return services.AuthorCredit(name=credit.name, author_id=credit.id, role=credit.role)


def _texts(texts: Texts) -> services.BookTexts:
    return services.BookTexts(title=texts.title, subtitle=texts.subtitle, description=texts.description)


def _changes(payload: BookIn | BookPatch, *, partial: bool) -> services.BookChanges:
    """The validated body as the service's ``BookChanges``, the one place it is built.

    A PATCH gives the fields the client sent (``null`` included: "clear it"); a new book,
    the fields with a value (not null, not an empty list or map). The others are ``UNSET``."""
    if partial:
        sent = payload.model_fields_set
    else:
        sent = {name for name, value in payload if value is not None and value != [] and value != {}}

    def given(name: str, convert=None):
        if name not in sent:
            return services.UNSET
        value = getattr(payload, name)
        return value if value is None or convert is None else convert(value)

    return services.BookChanges(
        title=given("title"),
        subtitle=given("subtitle"),
        description=given("description"),
        translations=given("translations", lambda texts: {lang: _texts(t) for lang, t in texts.items()}),
        language=given("language"),
        access_model=given("access_model"),
        price_amount=given("price_amount"),
        price_currency=given("price_currency"),
        publication_date=given("publication_date"),
        publication_year=given("publication_year"),
        publisher=given("publisher"),
        series=given("series"),
        series_position=given("series_position"),
        authors=given("authors", lambda credits: tuple(_credit(c) for c in credits)),
        categories=given("categories", tuple),
        isbn=given("isbn"),
    )


# --- books --------------------------------------------------------------------------------------
@router.get("/books", response=BookListOut, auth=anyone, summary="Published books, filtered and sorted",
            openapi_extra=error_statuses(404))  # an unknown category, author, publisher or series
def books_list(request: HttpRequest, query: Query[BookListQuery]):
    fields = _fields(query.fields)
    lang = _lang()
    order = selectors.order_of(query.sort, query.order)

    def build():
        page = selectors.book_page(filters=_filters(query), sort=query.sort, order=order, cursor=query.cursor,
                                   limit=query.limit, lang=lang)
        return {"items": _trim(page.items, fields), "next_cursor": page.next_cursor, "limit": page.limit,
                "sort": page.sort, "order": page.order}

    keep = cache.storable(limit=query.limit, cursor=query.cursor, prices=(query.price_min, query.price_max))
    return _cached(request, "list", build, keep=keep, q=_keyed(query, fields, order=order, author=_author(query)),
                   lang=lang)


@router.get("/books/search", response=SearchOut, auth=anyone, summary="Full-text search with facets",
            openapi_extra=error_statuses(404))  # an unknown category, author, publisher or series
def books_search(request: HttpRequest, query: Query[SearchQuery]):
    # generous: many readers share one carrier-grade NAT address
    rate_limit_check(key=f"catalog:search:{client_ip(request)}",
                     limit=settings.COKO_CATALOG["SEARCH_PER_MIN"], window_s=60)
    fields = _fields(query.fields)
    lang = _lang()
    text = cache.search_text(query.q) or query.q

    def build():
        page = selectors.book_search(query=text, filters=_filters(query), limit=query.limit,
                                     cursor=query.cursor, offset=query.offset, lang=lang)
        return {"items": _trim(page.items, fields), "next_cursor": page.next_cursor, "limit": page.limit,
                "sort": page.sort, "total": page.total, "facets": page.facets}

    keep = cache.storable(limit=query.limit, cursor=query.cursor, offset=query.offset, q=text,
                          prices=(query.price_min, query.price_max))
    return _cached(request, "search", build, keep=keep, q=_keyed(query, fields, q=text, author=_author(query)),
                   lang=lang)


@router.get("/books/mine", response=list[BookOut], auth=publisher, summary="The books I manage (any status)")
def books_mine(request: HttpRequest):
    return selectors.books_owned(owner_id=request.auth.user_id, lang=_lang())


@router.get("/books/{book_id}", response=BookOut, auth=anyone, summary="One book")
def book_get(request: HttpRequest, book_id: UUID):
    lang = _lang()
    try:
        return _cached(request, "book", lambda: selectors.book_detail(book_id=book_id, lang=lang),
                       versions=cache.book_versions(book_id), id=str(book_id), lang=lang)
    except _Missing:
        pass
    if request.principal is not None and _actor(request).may_edit(owner_id=selectors.book_owner(book_id=book_id)):
        book = selectors.book_for_editor(book_id=book_id, lang=lang)
        if book is not None:
            return _json(cache.dumps(book), public=False)
    raise errors.BOOK_NOT_FOUND(book_id=str(book_id))


@router.post("/books", response={201: BookOut}, auth=publisher, summary="Create a draft book")
def book_create(request: HttpRequest, payload: BookIn):
    book = services.book_create(actor=_actor(request), changes=_changes(payload, partial=False),
                                owner_id=str(payload.owner_id) if payload.owner_id else None)
    return Status(201, selectors.book_for_editor(book_id=book.id, lang=_lang()))


@router.patch("/books/{book_id}", response=BookOut, auth=publisher, summary="Change a book")
def book_update(request: HttpRequest, book_id: UUID, payload: BookPatch):
    book = services.book_update(actor=_actor(request), book_id=book_id,
                                changes=_changes(payload, partial=True))
    return selectors.book_for_editor(book_id=book.id, lang=_lang())


@router.post("/books/{book_id}/publish", response=BookOut, auth=publisher, summary="Publish a book")
def book_publish(request: HttpRequest, book_id: UUID):
    book = services.book_publish(actor=_actor(request), book_id=book_id)
    return selectors.book_for_editor(book_id=book.id, lang=_lang())


@router.post("/books/{book_id}/withdraw", response=BookOut, auth=publisher, summary="Withdraw a book")
def book_withdraw(request: HttpRequest, book_id: UUID, payload: WithdrawIn):
    book = services.book_withdraw(actor=_actor(request), book_id=book_id, reason=payload.reason)
    return selectors.book_for_editor(book_id=book.id, lang=_lang())


# --- authors and categories ---------------------------------------------------------------------
@router.get("/authors", response=AuthorPageOut, auth=anyone,
            summary="Authors of published books, by name; q finds names despite typos")
def authors_list(request: HttpRequest, query: Query[AuthorQuery]):
    text = cache.search_text(query.q) if query.q else None

    def build():
        items, next_cursor = selectors.author_page(query=text, cursor=query.cursor, limit=query.limit)
        return {"items": items, "next_cursor": next_cursor}

    keep = cache.storable(limit=query.limit, cursor=query.cursor, q=text)
    return _cached(request, "authors", build, keep=keep, q=_keyed(query, q=text))


@router.get("/authors/{author_id}", response=AuthorDetailOut, auth=anyone, summary="An author and their books")
def author_get(request: HttpRequest, author_id: UUID):
    lang = _lang()
    try:
        return _cached(request, "author", lambda: selectors.author_detail(author_id=author_id, lang=lang),
                       id=str(author_id), lang=lang)
    except _Missing:
        raise errors.AUTHOR_NOT_FOUND(author_id=str(author_id)) from None


@router.get("/categories", response=list[CategoryOut], auth=anyone, summary="The category tree, with counts")
def categories_tree(request: HttpRequest):
    lang = _lang()
    return _cached(request, "categories", lambda: selectors.category_tree(lang=lang), lang=lang)


@router.post("/categories", response={201: dict}, auth=BearerAuth(roles=("admin",)), summary="Add a category")
def category_create(request: HttpRequest, payload: CategoryIn):
    category = services.category_create(actor=_actor(request), slug=payload.slug, name=payload.name,
                                        parent_slug=payload.parent, translations=payload.translations)
    return Status(201, {"id": str(category.id), "slug": category.slug, "path": category.path})


# --- publishers and series ----------------------------------------------------------------------
def _named_page(request: HttpRequest, kind: str, page, query: NameQuery) -> HttpResponse:
    """A cached page of publishers or series (``page``: their selector), searched by name."""
    text = cache.search_text(query.q) if query.q else None

    def build():
        items, next_cursor = page(query=text, cursor=query.cursor, limit=query.limit)
        return {"items": items, "next_cursor": next_cursor}

    keep = cache.storable(limit=query.limit, cursor=query.cursor, q=text)
    return _cached(request, kind, build, keep=keep, q=_keyed(query, q=text))


@router.get("/publishers", response=NamedPageOut, auth=anyone,
            summary="Publishers of published books, by name, with their book counts")
def publishers_list(request: HttpRequest, query: Query[NameQuery]):
    return _named_page(request, "publishers", selectors.publisher_page, query)


@router.get("/publishers/{publisher_id}", response=PublisherDetailOut, auth=anyone,
            summary="A publisher and its books", openapi_extra=error_statuses(404))
def publisher_get(request: HttpRequest, publisher_id: UUID, query: Query[PageQuery]):
    lang = _lang()
    try:
        return _cached(request, "publisher", lambda: selectors.publisher_detail(
            publisher_id=publisher_id, cursor=query.cursor, limit=query.limit, lang=lang),
            keep=cache.storable(limit=query.limit, cursor=query.cursor), id=str(publisher_id),
            q=_keyed(query), lang=lang)
    except _Missing:
        raise errors.PUBLISHER_NOT_FOUND(publisher_id=str(publisher_id)) from None


@router.get("/series", response=NamedPageOut, auth=anyone,
            summary="Series with published books, by name, with their book counts")
def series_list(request: HttpRequest, query: Query[NameQuery]):
    return _named_page(request, "series", selectors.series_page, query)


@router.get("/series/{series_id}", response=SeriesDetailOut, auth=anyone,
            summary="A series and its books, in the series' order", openapi_extra=error_statuses(404))
def series_get(request: HttpRequest, series_id: UUID, query: Query[PageQuery]):
    lang = _lang()
    try:
        return _cached(request, "series-one", lambda: selectors.series_detail(
            series_id=series_id, cursor=query.cursor, limit=query.limit, lang=lang),
            keep=cache.storable(limit=query.limit, cursor=query.cursor), id=str(series_id),
            q=_keyed(query), lang=lang)
    except _Missing:
        raise errors.SERIES_NOT_FOUND(series_id=str(series_id)) from None
