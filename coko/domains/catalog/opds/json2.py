"""OPDS 2.0: the same feeds as JSON (``application/opds+json``), valid against the OPDS 2.0
and Readium Web Publication Manifest schemas.

Their expectations this follows: a feed has ``metadata.title``, a ``self`` link and at least
one non-empty collection among ``navigation`` / ``publications`` / ``groups`` — an empty
result gets a one-link navigation back to the start rather than an empty (invalid) list;
every navigation link has a title; a publication has an acquisition link and an ``images``
collection (the placeholder cover when the book has none); prices are ``{currency, value}``.
"""

from __future__ import annotations

import json
import secrets

from . import feeds, fragments
from .atom import stamp
from .feeds import NAVIGATION, Book, Feed, Target, Urls

FEED_TYPE = "application/opds+json"
PUBLICATION_TYPE = "application/opds-publication+json"
SCHEMA_BOOK = "http://schema.org/Book"
#: a credit's role -> its key in the metadata (the Readium Web Publication Manifest's contributors)
ROLES = {"author": "author", "translator": "translator", "illustrator": "illustrator", "editor": "editor",
         "narrator": "narrator", "contributor": "contributor"}


def dumps(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


def _link(urls: Urls, rel: str | None, target: Target, title: str | None = None, **extra) -> dict:
    link = {"rel": rel, "href": urls.of(target), "type": FEED_TYPE, "title": title, **extra}
    return {k: v for k, v in link.items() if v is not None}


def search_link(urls: Urls, lang: str) -> dict:
    return {"rel": "search", "href": urls.of(Target.to("search")) + "{?query}", "type": FEED_TYPE,
            "templated": True, "title": feeds.text("search", lang)}


# --- feeds -------------------------------------------------------------------------------------
def feed_render(feed: Feed, *, urls: Urls, lang: str) -> bytes:
    metadata = {"title": feed.title, "modified": stamp(feed.updated)}
    if feed.subtitle:
        metadata["subtitle"] = feed.subtitle
    if feed.per_page is not None:
        metadata["itemsPerPage"] = feed.per_page
    if feed.page is not None:
        metadata["currentPage"] = feed.page
    if feed.total is not None:
        metadata["numberOfItems"] = feed.total

    start = Target.to("root", kind=NAVIGATION)
    links = [_link(urls, "self", feed.self), _link(urls, "start", start, feeds.text("root", lang))]
    if feed.up is not None:
        links.append(_link(urls, "up", feed.up))
    links.append(search_link(urls, lang))
    links += [_link(urls, rel, target, title) for rel, title, target in feed.links]
    links += [_link(urls, rel, target) for rel, target in
              (("first", feed.first), ("previous", feed.previous), ("next", feed.next)) if target is not None]

    document: dict = {"metadata": metadata, "links": links}
    if feed.facets:
        document["facets"] = [{
            "metadata": {"title": group.title},
            "links": [_link(urls, "self" if facet.active else None, facet.target, facet.title,
                            properties={"numberOfItems": facet.count} if facet.count is not None else None)
                      for facet in group.facets],
        } for group in feed.facets]
    if feed.nav:
        document["navigation"] = [
            _link(urls, item.rel, item.target, item.title,
                  properties={"numberOfItems": item.count} if item.count is not None else None)
            for item in feed.nav]
    if feed.books:
        document["publications"] = _SPLICE  # the books' cached fragments go there (fragments.py)
    if feed.groups:
        document["groups"] = [{
            "metadata": {"title": group.title,
                         **({"numberOfItems": group.total} if group.total is not None else {})},
            "links": [_link(urls, "self", group.target, group.title)],
            "publications": [publication(book, urls=urls, lang=lang, complete=False) for book in group.books],
        } for group in feed.groups]
    if not feed.nav and not feed.books:  # nothing here: a way back rather than an empty list
        document["navigation"] = [_link(urls, "start", start, feeds.text("back", lang))]
    body = dumps(document)
    if not feed.books:
        return body
    entries = fragments.rendered(feed.books, kind="opds2", base=urls.base, lang=lang, render=lambda books: [
        dumps(publication(book, urls=urls, lang=lang, complete=False)) for book in books])
    return body.replace(_SPLICED, b"[" + b",".join(entries) + b"]", 1)


#: where a feed's publications go in its JSON (a string no title can hold: a NUL and a nonce)
_SPLICE = f"\x00publications-{secrets.token_hex(8)}"
_SPLICED = json.dumps(_SPLICE).encode()


# --- publications ------------------------------------------------------------------------------
def _contributor(credit: dict, urls: Urls) -> dict:
    return {"name": credit["name"], "identifier": f"urn:uuid:{credit['id']}",
            "links": [{"href": urls.of(Target.to("author", author_id=credit["id"])), "type": FEED_TYPE}]}


def _images(book: Book, urls: Urls) -> list[dict]:
    cover = book.data.get("cover") or {}
    images = [{"href": urls.absolute(cover[size]), "type": "image/webp"}
              for size in ("large", "medium", "small") if cover.get(size)]
    return images or [{"href": urls.placeholder(), "type": "image/png"}]


def publication(book: Book, *, urls: Urls, lang: str, complete: bool) -> dict:
    data = book.data
    metadata: dict = {"@type": SCHEMA_BOOK, "identifier": f"urn:uuid:{data['id']}", "title": data["title"]}
    if data.get("subtitle"):
        metadata["subtitle"] = data["subtitle"]
    credits = data.get("contributors", [])
    if not any(c["role"] == "author" for c in credits):  # someone must be the author
        credits = [{**c, "role": "author"} for c in credits]
    for credit in credits:
        metadata.setdefault(ROLES.get(credit["role"], "contributor"), []).append(_contributor(credit, urls))
    metadata["language"] = data["language"]
    metadata["modified"] = stamp(book.updated)
    if book.published():
        metadata["published"] = book.published()
    description = (data.get("description") or "") if complete else book.summary()
    if description:
        metadata["description"] = description
    scheme = urls.of(Target.to("categories", kind=NAVIGATION))
    if data.get("categories"):
        metadata["subject"] = [{"name": c["name"], "code": c["slug"], "scheme": scheme,
                                "links": [{"href": urls.of(Target.to("category", slug=c["slug"])),
                                           "type": FEED_TYPE}]}
                               for c in data["categories"]]
    if complete:
        if data.get("publisher"):
            metadata["publisher"] = data["publisher"]
        if book.isbns():
            metadata["altIdentifier"] = [f"urn:isbn:{isbn}" for isbn in book.isbns()]
    series = data.get("series")
    if series:
        member = {"name": series["name"]}
        if series.get("position") is not None:
            member["position"] = series["position"]
        metadata["belongsTo"] = {"series": [member]}

    links = [{"rel": "self", "href": urls.of(Target.to("book", book_id=data["id"])), "type": PUBLICATION_TYPE}]
    for acquisition in book.acquisitions:
        link = {"rel": acquisition.rel, "href": urls.acquisition(data["id"], acquisition.kind),
                "type": acquisition.media_type}
        if acquisition.size:
            link["size"] = acquisition.size
        if acquisition.prices:
            shown = acquisition.prices[0]  # XOF (see the package docstring)
            link["properties"] = {"price": {"currency": shown.currency, "value": shown.value}}
        links.append(link)
    return {"metadata": metadata, "links": links, "images": _images(book, urls)}


def publication_render(book: Book, *, urls: Urls, lang: str) -> bytes:
    return dumps(publication(book, urls=urls, lang=lang, complete=True))
