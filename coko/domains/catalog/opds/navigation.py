"""The navigation feeds: the root, the category tree, the authors."""

from __future__ import annotations

from .. import errors, selectors
from .entries import books_prepare, catalog_updated
from .params import PAGE_SIZE, Params, keyset_pages, position
from .shapes import Feed, Group, NavItem
from .vocabulary import NAVIGATION, REL_FEATURED, REL_NEW, REL_POPULAR, REL_SHELF, Target, count_text, text

FEATURED = "featured"
GROUP_SIZE = 10  # books of a collection shown in the root's group (OPDS 2.0)


def root(*, lang: str) -> Feed:
    new = Target.to("new")
    popular = Target.to("popular")
    shelf = Target.to("shelf")
    feed = Feed(kind=NAVIGATION, key="root", title=text("root", lang), subtitle=text("root_about", lang),
                self=Target.to("root", kind=NAVIGATION), updated=catalog_updated(lang=lang))
    collections = [c for c in selectors.collection_list(lang=lang) if c["book_count"]]
    feed.nav = [
        NavItem(f"collection:{c['slug']}", c["name"], Target.to("collection", slug=c["slug"]),
                rel=REL_FEATURED if c["slug"] == FEATURED else "subsection",
                content=text("featured_about" if c["slug"] == FEATURED else "collection_about", lang),
                count=c["book_count"])
        for c in collections]
    feed.nav += [
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
    feed.links += [(REL_FEATURED, c["name"], Target.to("collection", slug=c["slug"]))
                   for c in collections if c["slug"] == FEATURED]
    feed.groups = [group for group in (_group(c, lang) for c in collections) if group.books]
    return feed


def _group(collection: dict, lang: str) -> Group:
    """A collection's first books as a group of the root (OPDS 2.0 ``groups``)."""
    page = selectors.collection_detail(slug=collection["slug"], lang=lang, limit=GROUP_SIZE, whole=True)
    books = books_prepare((page or {}).get("items", []))
    return Group(title=collection["name"], target=Target.to("collection", slug=collection["slug"]), books=books,
                 total=collection["book_count"])


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


def category_sections(*, slug: str, lang: str) -> Feed:
    node, parent = _find(selectors.category_tree(lang=lang), slug)
    if node is None:
        raise errors.CATEGORY_NOT_FOUND(slug=slug)
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
                self=Target.to("authors", kind=NAVIGATION, query=position(params)),
                up=Target.to("root", kind=NAVIGATION), updated=catalog_updated(lang=lang))
    feed.nav = [NavItem(f"author:{a['id']}", a["name"], Target.to("author", author_id=a["id"]),
                        content=count_text(a["book_count"], lang), count=a["book_count"]) for a in items]
    limit = params.limit if params.limit != PAGE_SIZE else None
    keyset_pages(feed, params, next_cursor, lambda cursor, back: Target.to(
        "authors", kind=NAVIGATION, query={"limit": limit, "cursor": cursor, "back": back}))
    return feed
