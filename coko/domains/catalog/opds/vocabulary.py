"""The words of the OPDS feeds, whatever their rendering: kinds, link relations, texts, ids.

Texts are gettext (English msgids, French in ``catalog/locale``; the feeds follow
Accept-Language). A link is a :class:`Target` (a route name and its arguments), resolved
into absolute URLs by the renderer's :class:`Urls` (``/opds/…`` for OPDS 1.2, ``/opds/v2/…``
for OPDS 2.0).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import translation
from django.utils.translation import ngettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

NAVIGATION, ACQUISITION = "navigation", "acquisition"

REL_NEW = "http://opds-spec.org/sort/new"
REL_POPULAR = "http://opds-spec.org/sort/popular"
REL_SHELF = "http://opds-spec.org/shelf"
REL_FEATURED = "http://opds-spec.org/featured"
REL_FACET = "http://opds-spec.org/facet"
REL_IMAGE = "http://opds-spec.org/image"
REL_THUMBNAIL = "http://opds-spec.org/image/thumbnail"
ACQUISITION_REL = {
    "free": "http://opds-spec.org/acquisition/open-access",
    "subscription": "http://opds-spec.org/acquisition/subscribe",
    "sale": "http://opds-spec.org/acquisition/buy",
}
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)  # `updated` of a feed with nothing dated in it

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
    "shelf": _("My shelf"),
    "shelf_about": _("The books you keep to read (sign in)"),
    "featured_about": _("Books the Coko team puts forward"),
    "collection_about": _("A selection by the Coko team"),
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
