"""The category taxonomy: the tree with its book counts, one category, a category's subtree."""

from __future__ import annotations

from django.db import connections
from django.db.models import Q

from .. import errors
from ..models import Category
from .cards import DB, category_name


def category_ids_under(*, slug: str) -> list:
    """The ids of a category (named by its slug or by its path, as the API shows both) and of
    all its descendants; ``category_not_found`` if there is no such category."""
    root = Category.objects.filter(Q(slug=slug) | Q(path=slug)).values_list("path", flat=True).first()
    if root is None:
        raise errors.CATEGORY_NOT_FOUND(slug=slug)
    return list(Category.objects.filter(Q(path=root) | Q(path__startswith=root + "/"))
                .values_list("id", flat=True))

def category_checked(*, slug: str) -> None:
    """``category_not_found`` unless a category has this slug or path."""
    if not Category.objects.filter(Q(slug=slug) | Q(path=slug)).exists():
        raise errors.CATEGORY_NOT_FOUND(slug=slug)


def category_ids_sql(*, slug: str) -> tuple[str, list]:
    """``(sql, params)``: the ids of the category named by ``slug`` (or by its path) and of its
    descendants, as a subquery (nothing when there is no such category)."""
    return ("SELECT d.id FROM catalog_category r JOIN catalog_category d"
            " ON d.path = r.path OR d.path LIKE r.path || '/%%' WHERE r.slug = %s OR r.path = %s", [slug, slug])


def category_tree(*, lang: str = "en") -> list[dict]:
    """The category taxonomy as a tree; each node counts its published books, descendants included
    (a book filed under two children of one parent counts once for the parent)."""
    with connections[DB].cursor() as cursor:
        cursor.execute(
            """
            SELECT c.id, count(DISTINCT bc.book_id)
            FROM catalog_category c
            JOIN catalog_category d ON d.path = c.path OR d.path LIKE c.path || '/%%'
            JOIN catalog_book_categories bc ON bc.category_id = d.id
            JOIN catalog_book b ON b.id = bc.book_id AND b.status = 'published'
            GROUP BY c.id
            """
        )
        counts = dict(cursor.fetchall())
    nodes: dict = {}
    roots: list[dict] = []
    for category in Category.objects.order_by("depth", "position", "name"):
        node = {"id": str(category.id), "slug": category.slug, "name": category_name(category, lang),
                "path": category.path, "book_count": counts.get(category.id, 0), "children": []}
        nodes[category.id] = node
        parent = nodes.get(category.parent_id)
        (parent["children"] if parent else roots).append(node)
    return roots


def category_by_slug(*, slug: str, lang: str = "en") -> dict | None:
    category = Category.objects.filter(slug=slug).first()
    if category is None:
        return None
    return {"id": str(category.id), "slug": category.slug, "name": category_name(category, lang),
            "path": category.path}
