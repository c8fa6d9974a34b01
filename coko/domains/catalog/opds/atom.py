"""OPDS 1.2: feeds and entries as Atom documents (RFC 4287), valid against the OPDS grammar.

The grammar's expectations this follows: a feed's metadata comes before its entries; every
entry has ``atom:id``, ``atom:title`` and ``atom:updated`` (RFC 3339, ``Z``) and, as Atom's
rules say, an ``alternate`` link or an ``atom:content``; ``atom:summary`` is plain text;
``opds:price`` sits inside a ``…/acquisition/buy`` link; facet attributes only on facet links;
no URI templates in ``href`` (search goes through the OpenSearch description).

A feed is rendered in one pass: its head as one tree, serialised once, and its books' entries
spliced in as bytes — each book's entry a cached fragment (``fragments.py``), those missing
rendered together in one tree and cut apart (no per-entry document, no re-parsing).
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree

from . import feeds, fragments
from .feeds import ACQUISITION, NAVIGATION, Book, Feed, Target, Urls

ATOM = "http://www.w3.org/2005/Atom"
OPDS = "http://opds-spec.org/2010/catalog"
DC = "http://purl.org/dc/terms/"
OPENSEARCH = "http://a9.com/-/spec/opensearch/1.1/"
THR = "http://purl.org/syndication/thread/1.0"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
NSMAP = {None: ATOM, "opds": OPDS, "dc": DC, "opensearch": OPENSEARCH, "thr": THR}

TYPES = {
    NAVIGATION: "application/atom+xml;profile=opds-catalog;kind=navigation",
    ACQUISITION: "application/atom+xml;profile=opds-catalog;kind=acquisition",
}
ENTRY_TYPE = "application/atom+xml;type=entry;profile=opds-catalog"
OPENSEARCH_TYPE = "application/opensearchdescription+xml"


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent, tag: str, text: str | None = None, ns: str = ATOM, **attributes):
    element = etree.SubElement(parent, f"{{{ns}}}{tag}", {k: v for k, v in attributes.items() if v is not None})
    if text is not None:
        element.text = text
    return element


def _link(parent, *, rel: str, href: str, type: str | None = None, title: str | None = None, **extra):
    return _sub(parent, "link", rel=rel, href=href, type=type, title=title, **extra)


def _target_link(parent, urls: Urls, rel: str, target: Target, title: str | None = None):
    return _link(parent, rel=rel, href=urls.of(target), type=TYPES[target.kind], title=title)


def _serialize(root) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# --- feeds -------------------------------------------------------------------------------------
def feed_render(feed: Feed, *, urls: Urls, lang: str) -> bytes:
    root = etree.Element(f"{{{ATOM}}}feed", nsmap=NSMAP)
    root.set(XML_LANG, lang)
    _sub(root, "id", feeds.feed_id(feed.key))
    _sub(root, "title", feed.title)
    if feed.subtitle:
        _sub(root, "subtitle", feed.subtitle)
    _sub(root, "updated", stamp(feed.updated))
    publisher = _sub(root, "author")
    _sub(publisher, "name", "Coko")
    _sub(publisher, "uri", urls.of(Target.to("root", kind=NAVIGATION)))

    _target_link(root, urls, "self", feed.self)
    _target_link(root, urls, "start", Target.to("root", kind=NAVIGATION), feeds.text("root", lang))
    if feed.up is not None:
        _target_link(root, urls, "up", feed.up)
    _link(root, rel="search", href=urls.opensearch(), type=OPENSEARCH_TYPE, title=feeds.text("search", lang))
    for rel, title, target in feed.links:
        _target_link(root, urls, rel, target, title)
    for rel, target in (("first", feed.first), ("previous", feed.previous), ("next", feed.next)):
        if target is not None:
            _target_link(root, urls, rel, target)
    for group in feed.facets:
        for facet in group.facets:
            link = _target_link(root, urls, feeds.REL_FACET, facet.target, facet.title)
            link.set(f"{{{OPDS}}}facetGroup", group.title)
            if facet.active:
                link.set(f"{{{OPDS}}}activeFacet", "true")
            if facet.count is not None:
                link.set(f"{{{THR}}}count", str(facet.count))
    if feed.total is not None:
        _sub(root, "totalResults", str(feed.total), ns=OPENSEARCH)
    if feed.per_page is not None:
        _sub(root, "itemsPerPage", str(feed.per_page), ns=OPENSEARCH)

    for item in feed.nav:
        entry = _sub(root, "entry")
        _sub(entry, "title", item.title)
        _sub(entry, "id", feeds.feed_id(item.key))
        _sub(entry, "updated", stamp(feed.updated))
        _sub(entry, "content", item.content, type="text")
        _target_link(entry, urls, item.rel, item.target, item.title)
    body = _serialize(root)
    if not feed.books:
        return body
    entries = fragments.rendered(feed.books, kind="atom", base=urls.base, lang=lang,
                                 render=lambda books: entries_render(books, urls=urls, lang=lang))
    end = body.rindex(b"</feed>")
    return b"".join((body[:end], *entries, body[end:]))


_END = b"</entry>"


def entries_render(books: list[Book], *, urls: Urls, lang: str) -> list[bytes]:
    """The partial entries of ``books`` as they sit in a feed (the feed's namespaces declared
    by it, not by them): one tree for them all, serialised once and cut after each entry."""
    if not books:
        return []
    root = etree.Element(f"{{{ATOM}}}feed", nsmap=NSMAP)
    for book in books:
        _book_entry(root, book, urls=urls, lang=lang, complete=False)
    body = etree.tostring(root, encoding="UTF-8")
    body = body[body.index(b"<entry"):body.rindex(_END)]
    return [part + _END for part in body.split(_END)]


# --- entries -----------------------------------------------------------------------------------
def _person(parent, tag: str, credit: dict, urls: Urls) -> None:
    person = _sub(parent, tag)
    _sub(person, "name", credit["name"])
    _sub(person, "uri", urls.of(Target.to("author", author_id=credit["id"])))


def _book_entry(parent, book: Book, *, urls: Urls, lang: str, complete: bool):
    data = book.data
    entry = (etree.Element(f"{{{ATOM}}}entry", nsmap=NSMAP) if parent is None else _sub(parent, "entry"))
    _sub(entry, "title", data["title"])
    _sub(entry, "id", f"urn:uuid:{data['id']}")
    _sub(entry, "updated", stamp(book.updated))
    if data.get("published_at"):
        _sub(entry, "published", stamp(feeds.when(data["published_at"])))
    # atom:author for the authors, atom:contributor for the translators, illustrators …
    credits = data.get("contributors", [])
    creators = [c for c in credits if c["role"] == "author"] or credits  # an entry needs an author
    for credit in creators:
        _person(entry, "author", credit, urls)
    for credit in credits:
        if credit not in creators:
            _person(entry, "contributor", credit, urls)
    _sub(entry, "language", data["language"], ns=DC)
    if book.issued():
        _sub(entry, "issued", book.issued(), ns=DC)
    if complete:
        for isbn in book.isbns():
            _sub(entry, "identifier", f"urn:isbn:{isbn}", ns=DC)
        if data.get("publisher"):
            _sub(entry, "publisher", data["publisher"], ns=DC)
    scheme = urls.of(Target.to("categories", kind=NAVIGATION))
    for category in data.get("categories", []):
        _sub(entry, "category", term=category["slug"], label=category["name"], scheme=scheme)
    if book.summary():
        _sub(entry, "summary", book.summary(), type="text")
    if complete:
        _sub(entry, "content", data.get("description") or "", type="text")

    cover = data.get("cover") or {}
    image = cover.get("large") or cover.get("medium")
    thumbnail = cover.get("small") or cover.get("medium")
    if image:
        _link(entry, rel=feeds.REL_IMAGE, href=urls.absolute(image), type="image/webp")
    if thumbnail:
        _link(entry, rel=feeds.REL_THUMBNAIL, href=urls.absolute(thumbnail), type="image/webp")
    book_target = Target.to("book", kind=ACQUISITION, book_id=data["id"])
    if complete:
        _link(entry, rel="self", href=urls.of(book_target), type=ENTRY_TYPE)
    else:
        _link(entry, rel="alternate", href=urls.of(book_target), type=ENTRY_TYPE,
              title=feeds.text("complete", lang))
    for acquisition in book.acquisitions:
        link = _link(entry, rel=acquisition.rel, href=urls.acquisition(data["id"], acquisition.kind),
                     type=acquisition.media_type, length=str(acquisition.size) if acquisition.size else None)
        for price in acquisition.prices:
            _sub(link, "price", price.text, ns=OPDS, currencycode=price.currency)
    return entry


def entry_render(book: Book, *, urls: Urls, lang: str) -> bytes:
    """A complete catalog entry, as a document of its own."""
    entry = _book_entry(None, book, urls=urls, lang=lang, complete=True)
    entry.set(XML_LANG, lang)
    return _serialize(entry)


# --- OpenSearch --------------------------------------------------------------------------------
def opensearch_render(*, urls: Urls, lang: str) -> bytes:
    root = etree.Element(f"{{{OPENSEARCH}}}OpenSearchDescription", nsmap={None: OPENSEARCH})
    for tag, value in (("ShortName", "Coko"), ("Description", feeds.text("search_about", lang)),
                       ("InputEncoding", "UTF-8"), ("OutputEncoding", "UTF-8"), ("Language", lang)):
        _sub(root, tag, value, ns=OPENSEARCH)
    search_v1 = urls.of(Target.to("search"), version=1)
    search_v2 = urls.of(Target.to("search"), version=2)
    _sub(root, "Url", ns=OPENSEARCH, type=TYPES[ACQUISITION], template=f"{search_v1}?q={{searchTerms}}")
    _sub(root, "Url", ns=OPENSEARCH, type="application/opds+json", template=f"{search_v2}?query={{searchTerms}}")
    return _serialize(root)
