"""What each OPDS feed holds, whatever its rendering: built from the catalog's selectors.

A builder returns a :class:`Feed` (navigation or acquisition) whose links are
:class:`Target` objects — a route name and its arguments, resolved into URLs by the
renderer's :class:`Urls` (``/opds/…`` for OPDS 1.2, ``/opds/v2/…`` for OPDS 2.0). Books are
the selectors' full dicts (``selectors.book_full``) with their acquisitions worked out.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import get_language_info, gettext, ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from .. import cache, contracts, errors, selectors, values

NAVIGATION, ACQUISITION = "navigation", "acquisition"

REL_NEW = "http://opds-spec.org/sort/new"
REL_POPULAR = "http://opds-spec.org/sort/popular"
REL_SHELF = "http://opds-spec.org/shelf"
REL_FACET = "http://opds-spec.org/facet"
REL_IMAGE = "http://opds-spec.org/image"
REL_THUMBNAIL = "http://opds-spec.org/image/thumbnail"
ACQUISITION_REL = {
    "free": "http://opds-spec.org/acquisition/open-access",
    "subscription": "http://opds-spec.org/acquisition/subscribe",
    "sale": "http://opds-spec.org/acquisition/buy",
}
FORMAT_ORDER = {kind: n for n, kind in enumerate(contracts.FORMAT_KINDS)}
DISPLAY_CURRENCY = "XOF"

PAGE_SIZE = 20
BACK_MAX = 16  # pages a `previous` link can walk back (the cursors a page's URL carries)
SUMMARY_MAX = 400  # characters of description in a partial entry (slow networks)
SEARCH_OFFSET_MAX = 10000
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)  # `updated` of a feed with nothing dated in it

_CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,400}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")

# --- words (gettext: English msgids, French in catalog/locale; the feeds follow Accept-Language)
_TEXTS = {
    "root": _("Coko"),
    "root_about": _("Books for African readers"),
    "new": _("New books"),
    "new_about": _("The latest books in the catalogue"),
    "popular": _("Popular books"),
    "popular_about": _("What readers read most"),
    "categories": _("Categories"),
    "categories_about": _("Browse by category"),
    "authors": _("Authors"),
    "authors_about": _("Browse by author"),
    "shelf": _("My books"),
    "shelf_about": _("The books you manage (sign in)"),
    "search": pgettext_lazy("opds", "Search"),  # a context: Django's own "Search" is a verb
    "search_for": _("Search: {q}"),
    "search_about": _("Search the Coko catalogue"),
    "all_of": _("All of {name}"),
    "language": _("Language"),
    "access": _("Access"),
    "all": pgettext_lazy("opds", "All"),  # a context: Django's own "All" is "Tout"
    "free": _("Free"),
    "subscription": _("Subscription"),
    "sale": _("For sale"),
    "complete": _("Complete entry"),
    "back": _("Back to the catalogue"),
}


def text(key: str, lang: str, **values) -> str:
    """The feed word ``key`` in ``lang`` (``{placeholders}`` filled from ``values``)."""
    with translation.override(lang):
        return str(_TEXTS[key]).format(**values)


def count_text(n: int, lang: str) -> str:
    with translation.override(lang):
        return ngettext("{n} book", "{n} books", n).format(n=n)


def language_name(code: str) -> str:
    try:
        name = get_language_info(code)["name_local"]
    except KeyError:
        return code
    return name[:1].upper() + name[1:]


def feed_id(key: str) -> str:
    """A stable ``urn:uuid`` for a feed or navigation entry (the same on every host)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'coko:opds:' + key)}"


def when(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- targets and URLs --------------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """A feed (or document) of the catalogue: route name, path arguments, query, kind."""

    name: str
    kwargs: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    kind: str = ACQUISITION

    @classmethod
    def to(cls, name: str, *, kind: str = ACQUISITION, query: dict | None = None, **kwargs) -> Target:
        pairs = tuple((k, str(v)) for k, v in (query or {}).items() if v is not None and v != "")
        return cls(name=name, kwargs=tuple((k, str(v)) for k, v in kwargs.items()), query=pairs, kind=kind)

    def key(self) -> str:
        return self.name + json.dumps([self.kwargs, self.query], separators=(",", ":"))


class Urls:
    """Absolute URLs of one rendering (``version`` 1: ``/opds/…``, 2: ``/opds/v2/…``)."""

    def __init__(self, *, base: str, version: int) -> None:
        self.base = base.rstrip("/")
        self.version = version

    def absolute(self, path: str) -> str:
        return path if "://" in path else self.base + path

    def of(self, target: Target, *, version: int | None = None) -> str:
        prefix = "v2-" if (version or self.version) == 2 else ""
        path = reverse(f"opds:{prefix}{target.name}", kwargs=dict(target.kwargs))
        query = urlencode(target.query)
        return self.absolute(path + (f"?{query}" if query else ""))

    def acquisition(self, book_id: str, kind: str) -> str:
        """The files domain's route: checks the reader's right, redirects to a signed URL."""
        return self.absolute(f"/api/v1/files/books/{book_id}/file/{kind}")

    def placeholder(self) -> str:
        return self.absolute(reverse("opds:cover-placeholder"))

    def opensearch(self) -> str:
        return self.absolute(reverse("opds:opensearch"))


# --- books -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Price:
    currency: str
    amount: int  # minor units

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.amount).scaleb(-contracts.CURRENCY_EXPONENT.get(self.currency, 2))

    @property
    def text(self) -> str:
        exponent = contracts.CURRENCY_EXPONENT.get(self.currency, 2)
        return f"{self.decimal:.{exponent}f}"

    @property
    def value(self) -> int | float:
        return self.amount if contracts.CURRENCY_EXPONENT.get(self.currency, 2) == 0 else float(self.decimal)


@dataclass(frozen=True)
class Acquisition:
    rel: str
    kind: str
    media_type: str
    size: int | None
    prices: tuple[Price, ...] = ()


@dataclass
class Book:
    data: dict  # selectors.book_full
    acquisitions: list[Acquisition]

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def updated(self) -> datetime:
        return when(self.data.get("updated_at")) or when(self.data.get("published_at")) or EPOCH

    def summary(self) -> str:
        description = " ".join((self.data.get("description") or "").split())
        if len(description) <= SUMMARY_MAX:
            return description
        cut = description[:SUMMARY_MAX].rsplit(" ", 1)[0]
        return cut.rstrip(" ,.;:") + "…"

    def issued(self) -> str | None:
        """The first publication date of the work (``dc:issued``): a date, or a year."""
        if self.data.get("publication_date"):
            return self.data["publication_date"][:10]
        year = self.data.get("publication_year")
        return f"{year:04d}" if year and year > 0 else None

    def isbns(self) -> list[str]:
        return [e["isbn13"] for e in self.data.get("editions", []) if e.get("isbn13")]


def prices(price: dict | None) -> tuple[Price, ...]:
    """The price to show: in XOF (converted as the catalogue's price filters do), then in the
    book's own currency when that is another one."""
    if not price:
        return ()
    own = Price(currency=price["currency"], amount=int(price["amount"]))
    if own.currency == DISPLAY_CURRENCY:
        return (own,)
    shown = Price(currency=DISPLAY_CURRENCY,
                  amount=values.price_in_xof(amount=own.amount, currency=own.currency))
    return (shown, own)


def book_prepare(data: dict | None) -> Book | None:
    """A published book as an OPDS catalog entry, or ``None`` when it has no file to acquire."""
    if not data or data.get("status", "published") != "published":
        return None
    rel = ACQUISITION_REL.get(data["access_model"])
    if rel is None:
        return None
    shown = prices(data.get("price")) if data["access_model"] == "sale" else ()
    if data["access_model"] == "sale" and not shown:
        return None  # a buy link must carry a price
    by_kind: dict[str, dict] = {}
    for edition in data.get("editions", []):
        for fmt in edition.get("formats", []):
            by_kind.setdefault(fmt["kind"], fmt)
    acquisitions = [Acquisition(rel=rel, kind=kind, media_type=fmt["media_type"], size=fmt.get("size"), prices=shown)
                    for kind, fmt in sorted(by_kind.items(), key=lambda kv: FORMAT_ORDER.get(kv[0], 99))]
    return Book(data=data, acquisitions=acquisitions) if acquisitions else None


def book_full(book_id: str, *, lang: str) -> dict | None:
    """A published book whole, through the JSON API's cache entry for it (same key)."""
    body = cache.cached_json("book", lambda: selectors.book_detail(book_id=book_id, lang=lang),
                             id=str(book_id), lang=lang)
    return json.loads(body)


def books_prepare(book_ids: list[str], *, lang: str) -> list[Book]:
    return [b for b in (book_prepare(book_full(i, lang=lang)) for i in book_ids) if b is not None]


# --- feeds -------------------------------------------------------------------------------------
@dataclass
class NavItem:
    key: str
    title: str
    target: Target
    rel: str = "subsection"
    content: str = ""
    count: int | None = None


@dataclass
class Facet:
    title: str
    target: Target
    active: bool
    count: int | None = None


@dataclass
class FacetGroup:
    title: str
    facets: list[Facet]


@dataclass
class Feed:
    kind: str
    key: str
    title: str
    self: Target
    updated: datetime
    up: Target | None = None
    subtitle: str = ""
    nav: list[NavItem] = field(default_factory=list)
    books: list[Book] = field(default_factory=list)
    links: list[tuple[str, str, Target]] = field(default_factory=list)  # (rel, title, target)
    facets: list[FacetGroup] = field(default_factory=list)
    first: Target | None = None
    previous: Target | None = None
    next: Target | None = None
    total: int | None = None
    per_page: int | None = None
    page: int | None = None


# --- request parameters ------------------------------------------------------------------------
@dataclass(frozen=True)
class Params:
    """The query of a feed request, validated (400 on nonsense)."""

    q: str = ""
    language: str | None = None
    access: str | None = None
    limit: int = PAGE_SIZE
    cursor: str | None = None
    back: tuple[str, ...] = ()
    offset: int = 0

    @classmethod
    def parse(cls, query, *, search_param: str = "q") -> Params:
        def one(name: str) -> str | None:
            value = query.get(name)
            return value.strip() if value is not None and value.strip() else None

        q = one(search_param) or ""
        if len(q) > 200:
            raise errors.INVALID_FEED_QUERY(parameter=search_param, expected=gettext("200 characters at most"))
        language = one("language")
        if language is not None and not _LANGUAGE.match(language):
            raise errors.INVALID_FEED_QUERY(parameter="language",
                                            expected=gettext("an ISO 639 code (two or three lowercase letters)"))
        access = one("access")
        if access is not None and access not in contracts.ACCESS_MODELS:
            raise errors.INVALID_FEED_QUERY(parameter="access", expected=gettext("free, subscription or sale"))
        limit = _integer(one("limit"), "limit", PAGE_SIZE, 1, settings.COKO_CATALOG["PAGE_MAX"])
        offset = _integer(one("offset"), "offset", 0, 0, SEARCH_OFFSET_MAX)
        cursor = one("cursor")
        if cursor is not None and not _CURSOR.match(cursor):
            raise errors.INVALID_FEED_QUERY(parameter="cursor", expected=gettext("a cursor of this feed"))
        back = tuple(one("back").split(",")) if one("back") else ()
        if len(back) > BACK_MAX or any(c != "-" and not _CURSOR.match(c) for c in back):
            raise errors.INVALID_FEED_QUERY(parameter="back", expected=gettext("the cursors of this feed"))
        return cls(q=q, language=language, access=access, limit=limit, cursor=cursor, back=back, offset=offset)

    def filters(self, **fixed) -> selectors.BookFilters:
        # an OPDS catalog entry needs something to acquire: books without a file are left out
        return selectors.BookFilters(language=self.language, access_model=self.access, has_files=True, **fixed)

    def facet_query(self, **changes) -> dict:
        """The query that selects this feed's subset (no position): facets and page size."""
        values = {"language": self.language, "access": self.access, **changes}
        return {"language": values["language"], "access": values["access"],
                "limit": self.limit if self.limit != PAGE_SIZE else None}


def _integer(raw: str | None, name: str, default: int, low: int, high: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise errors.INVALID_FEED_QUERY(parameter=name, expected=gettext("a whole number from {low} to {high}")
                                        .format(low=low, high=high))
    return value


def _keyset_pages(feed: Feed, params: Params, next_cursor: str | None, make) -> None:
    """first / previous / next of a keyset-paginated feed; ``make(cursor, back)`` → Target."""
    feed.first = make(None, None)
    if params.cursor and params.back:
        previous = params.back[-1]
        feed.previous = make(None if previous == "-" else previous, ",".join(params.back[:-1]) or None)
    if next_cursor:
        back = (*params.back, params.cursor or "-")[-BACK_MAX:]
        feed.next = make(next_cursor, ",".join(back))
    if not params.cursor:
        feed.page = 1
    elif params.back and params.back[0] == "-":
        feed.page = len(params.back) + 1
    feed.per_page = params.limit


def catalog_updated(*, lang: str) -> datetime:
    """When the catalogue last gained a book (``updated`` of the navigation feeds)."""
    newest = selectors.book_page(filters=selectors.BookFilters(), sort="newest", limit=1, lang=lang).items
    return (when(newest[0]["published_at"]) if newest else None) or EPOCH


# --- navigation feeds --------------------------------------------------------------------------
def root(*, lang: str) -> Feed:
    new = Target.to("new")
    popular = Target.to("popular")
    shelf = Target.to("shelf")
    feed = Feed(kind=NAVIGATION, key="root", title=text("root", lang), subtitle=text("root_about", lang),
                self=Target.to("root", kind=NAVIGATION), updated=catalog_updated(lang=lang))
    feed.nav = [
        NavItem("new", text("new", lang), new, rel=REL_NEW, content=text("new_about", lang)),
        NavItem("popular", text("popular", lang), popular, rel=REL_POPULAR, content=text("popular_about", lang)),
        NavItem("categories", text("categories", lang), Target.to("categories", kind=NAVIGATION),
                content=text("categories_about", lang)),
        NavItem("authors", text("authors", lang), Target.to("authors", kind=NAVIGATION),
                content=text("authors_about", lang)),
        NavItem("shelf", text("shelf", lang), shelf, rel=REL_SHELF, content=text("shelf_about", lang)),
    ]
    feed.links = [(REL_NEW, text("new", lang), new), (REL_POPULAR, text("popular", lang), popular),
                  (REL_SHELF, text("shelf", lang), shelf)]
    return feed


def _category_target(node: dict) -> Target:
    if any(child["book_count"] for child in node["children"]):
        return Target.to("category-sections", kind=NAVIGATION, slug=node["slug"])
    return Target.to("category", slug=node["slug"])


def _category_item(node: dict, lang: str) -> NavItem:
    return NavItem(f"category:{node['slug']}", node["name"], _category_target(node),
                   content=count_text(node["book_count"], lang), count=node["book_count"])


def categories(*, lang: str) -> Feed:
    feed = Feed(kind=NAVIGATION, key="categories", title=text("categories", lang),
                self=Target.to("categories", kind=NAVIGATION), up=Target.to("root", kind=NAVIGATION),
                updated=catalog_updated(lang=lang))
    feed.nav = [_category_item(node, lang) for node in selectors.category_tree(lang=lang) if node["book_count"]]
    return feed


def _find(nodes: list[dict], slug: str) -> tuple[dict | None, dict | None]:
    """The node of ``slug`` and its parent."""
    stack = [(node, None) for node in nodes]
    while stack:
        node, parent = stack.pop()
        if node["slug"] == slug:
            return node, parent
        stack.extend((child, node) for child in node["children"])
    return None, None


def _no_category(slug: str):
    return errors.CATEGORY_NOT_FOUND(slug=slug)


def category_sections(*, slug: str, lang: str) -> Feed:
    node, parent = _find(selectors.category_tree(lang=lang), slug)
    if node is None:
        raise _no_category(slug)
    up = (Target.to("category-sections", kind=NAVIGATION, slug=parent["slug"]) if parent
          else Target.to("categories", kind=NAVIGATION))
    feed = Feed(kind=NAVIGATION, key=f"category-sections:{slug}", title=node["name"],
                self=Target.to("category-sections", kind=NAVIGATION, slug=slug), up=up,
                updated=catalog_updated(lang=lang))
    feed.nav = [NavItem(f"category-all:{slug}", text("all_of", lang, name=node["name"]),
                        Target.to("category", slug=slug), content=count_text(node["book_count"], lang),
                        count=node["book_count"])]
    feed.nav += [_category_item(child, lang) for child in node["children"] if child["book_count"]]
    return feed


def authors(*, params: Params, lang: str) -> Feed:
    items, next_cursor = selectors.author_page(cursor=params.cursor, limit=params.limit)
    feed = Feed(kind=NAVIGATION, key="authors", title=text("authors", lang),
                self=Target.to("authors", kind=NAVIGATION, query=_position(params)),
                up=Target.to("root", kind=NAVIGATION), updated=catalog_updated(lang=lang))
    feed.nav = [NavItem(f"author:{a['id']}", a["name"], Target.to("author", author_id=a["id"]),
                        content=count_text(a["book_count"], lang), count=a["book_count"]) for a in items]
    limit = params.limit if params.limit != PAGE_SIZE else None
    _keyset_pages(feed, params, next_cursor, lambda cursor, back: Target.to(
        "authors", kind=NAVIGATION, query={"limit": limit, "cursor": cursor, "back": back}))
    return feed


# --- acquisition feeds -------------------------------------------------------------------------
def _position(params: Params) -> dict:
    return {**params.facet_query(), "cursor": params.cursor, "back": ",".join(params.back) or None}


def _facets(params: Params, make, *, lang: str, counts: dict | None = None) -> list[FacetGroup]:
    """Language and access-model facets; ``make(query)`` → the feed's Target for a subset."""
    counts = counts or {}
    by_language = counts.get("language") or {}
    by_access = counts.get("access_model") or {}
    codes = [code for code, n in sorted(by_language.items(), key=lambda kv: (-kv[1], kv[0])) if n]
    codes += [code for code, _ in settings.LANGUAGES if code not in codes and not by_language]
    if params.language and params.language not in codes:
        codes.append(params.language)
    languages = [Facet(text("all", lang), make(params.facet_query(language=None)), params.language is None)]
    languages += [Facet(language_name(code), make(params.facet_query(language=code)), params.language == code,
                        by_language.get(code) if by_language else None) for code in codes]
    access = [Facet(text("all", lang), make(params.facet_query(access=None)), params.access is None)]
    access += [Facet(text(model, lang), make(params.facet_query(access=model)), params.access == model,
                     by_access.get(model, 0) if by_access else None) for model in contracts.ACCESS_MODELS]
    return [FacetGroup(text("language", lang), languages), FacetGroup(text("access", lang), access)]


def _acquisition(*, key: str, title: str, name: str, kwargs: dict, params: Params, sort: str,
                 filters: selectors.BookFilters, up: Target, lang: str) -> Feed:
    page = selectors.book_page(filters=filters, sort=sort, cursor=params.cursor, limit=params.limit, lang=lang)
    books = books_prepare([item["id"] for item in page.items], lang=lang)
    facet_key = json.dumps(params.facet_query(), sort_keys=True)
    feed = Feed(kind=ACQUISITION, key=f"{key}:{facet_key}", title=title, up=up, books=books,
                self=Target.to(name, query=_position(params), **kwargs),
                updated=max((b.updated for b in books), default=None) or catalog_updated(lang=lang))
    _keyset_pages(feed, params, page.next_cursor, lambda cursor, back: Target.to(
        name, query={**params.facet_query(), "cursor": cursor, "back": back}, **kwargs))
    feed.facets = _facets(params, lambda query: Target.to(name, query=query, **kwargs), lang=lang)
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
        raise _no_category(slug)
    parent_path = found["path"].rpartition("/")[0]
    up = (Target.to("category-sections", kind=NAVIGATION, slug=parent_path.rpartition("/")[2]) if parent_path
          else Target.to("categories", kind=NAVIGATION))
    return _acquisition(key=f"category:{slug}", title=found["name"], name="category", kwargs={"slug": slug},
                        params=params, sort="popularity", filters=params.filters(category=slug), up=up, lang=lang)


def author(*, author_id: str, params: Params, lang: str) -> Feed:
    found = selectors.author_detail(author_id=author_id, lang=lang, limit=1)
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
                                     offset=params.offset, lang=lang)
        feed.books = books_prepare([item["id"] for item in page.items], lang=lang)
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
    feed.facets = _facets(params, make, lang=lang, counts=counts)
    return feed


def shelf(*, user_id: str, lang: str) -> Feed:
    """The published books this user manages (an author's own shelf), newest first."""
    books = [b for b in (book_prepare(data) for data in selectors.books_owned(owner_id=user_id, lang=lang))
             if b is not None]
    return Feed(kind=ACQUISITION, key=f"shelf:{user_id}", title=text("shelf", lang), self=Target.to("shelf"),
                up=Target.to("root", kind=NAVIGATION), books=books, total=len(books),
                updated=max((b.updated for b in books), default=EPOCH))


def book(*, book_id: str, lang: str) -> Book:
    found = book_prepare(book_full(book_id, lang=lang))
    if found is None:
        raise errors.BOOK_NOT_FOUND(book_id=str(book_id))
    return found
