"""The request of a feed: its query validated (:class:`Params`), and what it gives the feed —
keyset pages (``first``/``previous``/``next``, the cursors a page's URL carries) and facets."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext

from .. import contracts, errors, selectors
from ..values import language_name
from .shapes import Facet, FacetGroup, Feed
from .vocabulary import text

PAGE_SIZE = 20
BACK_MAX = 16  # pages a `previous` link can walk back (the cursors a page's URL carries)
SEARCH_OFFSET_MAX = 10000

_CURSOR = re.compile(r"^[A-Za-z0-9_-]{1,400}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")


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


def keyset_pages(feed: Feed, params: Params, next_cursor: str | None, make) -> None:
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


def position(params: Params) -> dict:
    return {**params.facet_query(), "cursor": params.cursor, "back": ",".join(params.back) or None}


def facet_groups(params: Params, make, *, lang: str, counts: dict | None = None,
                 languages: list[str] | None = None) -> list[FacetGroup]:
    """Language and access-model facets; ``make(query)`` → the feed's Target for a subset.
    A search's facets are its matches' languages (``counts``); a browsing feed's, every
    language of the catalogue (``languages``, most books first)."""
    counts = counts or {}
    by_language = counts.get("language") or {}
    by_access = counts.get("access_model") or {}
    codes = [code for code, n in sorted(by_language.items(), key=lambda kv: (-kv[1], kv[0])) if n]
    if not by_language:
        codes += [code for code in languages or [code for code, _ in settings.LANGUAGES] if code not in codes]
    if params.language and params.language not in codes:
        codes.append(params.language)
    languages = [Facet(text("all", lang), make(params.facet_query(language=None)), params.language is None)]
    languages += [Facet(language_name(code), make(params.facet_query(language=code)), params.language == code,
                        by_language.get(code) if by_language else None) for code in codes]
    access = [Facet(text("all", lang), make(params.facet_query(access=None)), params.access is None)]
    access += [Facet(text(model, lang), make(params.facet_query(access=model)), params.access == model,
                     by_access.get(model, 0) if by_access else None) for model in contracts.ACCESS_MODELS]
    return [FacetGroup(text("language", lang), languages), FacetGroup(text("access", lang), access)]
