"""The acquisition feeds: new, popular, a category's or an author's books (keyset pages), the
search results (offset pages, with facet counts), a collection's books, and a signed-in
reader's own shelf."""

from __future__ import annotations

import json

from .. import errors, selectors
from .entries import books_prepare, catalog_updated
from .params import PAGE_SIZE, Params, facet_groups, keyset_pages, position
from .shapes import Feed
from .vocabulary import ACQUISITION, EPOCH, NAVIGATION, Target, text


def _acquisition(*, key: str, title: str, name: str, kwargs: dict, params: Params, sort: str,
                 filters: selectors.BookFilters, up: Target, lang: str) -> Feed:
    page = selectors.book_page(filters=filters, sort=sort, cursor=params.cursor, limit=params.limit, lang=lang,
                               whole=True)
    books = books_prepare(page.books)
    facet_key = json.dumps(params.facet_query(), sort_keys=True)
    feed = Feed(kind=ACQUISITION, key=f"{key}:{facet_key}", title=title, up=up, books=books,
                self=Target.to(name, query=position(params), **kwargs),
                updated=max((b.updated for b in books), default=None) or catalog_updated(lang=lang))
    keyset_pages(feed, params, page.next_cursor, lambda cursor, back: Target.to(
        name, query={**params.facet_query(), "cursor": cursor, "back": back}, **kwargs))
    feed.facets = facet_groups(params, lambda query: Target.to(name, query=query, **kwargs), lang=lang,
                               languages=selectors.book_languages(filters=selectors.BookFilters(has_files=True)))
    return feed


def new(*, params: Params, lang: str) -> Feed:
    return _acquisition(key="new", title=text("new", lang), name="new", kwargs={}, params=params, sort="newest",
                        filters=params.filters(), up=Target.to("root", kind=NAVIGATION), lang=lang)


def popular(*, params: Params, lang: str) -> Feed:
    return _acquisition(key="popular", title=text("popular", lang), name="popular", kwargs={}, params=params,
                        sort="popularity", filters=params.filters(), up=Target.to("root", kind=NAVIGATION),
                        lang=lang)


def category(*, slug: str, params: Params, lang: str) -> Feed:
    found = selectors.category_by_slug(slug=slug, lang=lang)
    if found is None:
        raise errors.CATEGORY_NOT_FOUND(slug=slug)
    parent_path = found["path"].rpartition("/")[0]
    up = (Target.to("category-sections", kind=NAVIGATION, slug=parent_path.rpartition("/")[2]) if parent_path
          else Target.to("categories", kind=NAVIGATION))
    return _acquisition(key=f"category:{slug}", title=found["name"], name="category", kwargs={"slug": slug},
                        params=params, sort="popularity", filters=params.filters(category=slug, names_checked=True),
                        up=up, lang=lang)


def author(*, author_id: str, params: Params, lang: str) -> Feed:
    found = selectors.author_card_of(author_id=author_id)
    if found is None:
        raise errors.AUTHOR_NOT_FOUND(author_id=str(author_id))
    return _acquisition(key=f"author:{author_id}", title=found["name"], name="author",
                        kwargs={"author_id": author_id}, params=params, sort="popularity",
                        filters=params.filters(author_id=author_id), up=Target.to("authors", kind=NAVIGATION),
                        lang=lang)


def search(*, params: Params, lang: str, search_param: str = "q") -> Feed:
    """Search results (offset pages) with facet counts; an empty search is an empty feed."""
    def make(query: dict, offset: int | None = None) -> Target:
        return Target.to("search", query={search_param: params.q, **query, "offset": offset or None})

    facet_key = json.dumps(params.facet_query(), sort_keys=True)
    feed = Feed(kind=ACQUISITION, key=f"search:{params.q}:{facet_key}",
                title=text("search_for", lang, q=params.q) if params.q else text("search", lang),
                self=make(params.facet_query(), params.offset), up=Target.to("root", kind=NAVIGATION),
                updated=EPOCH, per_page=params.limit)
    counts = None
    if params.q:
        page = selectors.book_search(query=params.q, filters=params.filters(), limit=params.limit,
                                     offset=params.offset, lang=lang, whole=True)
        feed.books = books_prepare(page.books)
        feed.total = page.total
        counts = page.facets
        if params.offset:
            feed.previous = make(params.facet_query(), max(0, params.offset - params.limit))
        if page.next_cursor:
            feed.next = make(params.facet_query(), params.offset + params.limit)
    else:
        feed.total = 0
    feed.first = make(params.facet_query())
    feed.page = params.offset // params.limit + 1
    feed.updated = max((b.updated for b in feed.books), default=None) or catalog_updated(lang=lang)
    feed.facets = facet_groups(params, make, lang=lang, counts=counts)
    return feed


def collection(*, slug: str, params: Params, lang: str) -> Feed:
    """A collection's books in its order (keyset pages; those with a file to acquire)."""
    found = selectors.collection_detail(slug=slug, lang=lang, cursor=params.cursor, limit=params.limit, whole=True)
    if found is None:
        raise errors.COLLECTION_NOT_FOUND(slug=slug)
    books = books_prepare(found["items"])
    feed = Feed(kind=ACQUISITION, key=f"collection:{slug}", title=found["name"], books=books,
                self=Target.to("collection", slug=slug, query=position(params)),
                up=Target.to("root", kind=NAVIGATION), total=found["book_count"],
                updated=max((b.updated for b in books), default=None) or catalog_updated(lang=lang))
    limit = params.limit if params.limit != PAGE_SIZE else None
    keyset_pages(feed, params, found["next_cursor"], lambda cursor, back: Target.to(
        "collection", slug=slug, query={"limit": limit, "cursor": cursor, "back": back}))
    return feed


def shelf(*, user_id: str, params: Params, lang: str) -> Feed:
    """The reader's own shelf (``PUT /api/v1/me/shelf/{book_id}``), the books put there last
    first (keyset pages; those with a file to acquire). Purchases will join it (issue 13)."""
    page = selectors.shelf_page(user_id=user_id, lang=lang, cursor=params.cursor, limit=params.limit, whole=True)
    books = books_prepare(page.items)
    feed = Feed(kind=ACQUISITION, key=f"shelf:{user_id}", title=text("shelf", lang),
                self=Target.to("shelf", query=position(params)), up=Target.to("root", kind=NAVIGATION),
                books=books, updated=max((b.updated for b in books), default=EPOCH))
    limit = params.limit if params.limit != PAGE_SIZE else None
    keyset_pages(feed, params, page.next_cursor, lambda cursor, back: Target.to(
        "shelf", query={"limit": limit, "cursor": cursor, "back": back}))
    return feed
