"""The category tree (staff)."""

from __future__ import annotations

from django.utils.text import slugify

from coko.platform.services import use_case

from .. import errors
from ..models import Category
from ._shared import DB, Actor, after_commit


@use_case(DB)
def category_create(*, actor: Actor, slug: str | None, name: str, parent_slug: str | None = None,
                    translations: dict | None = None) -> Category:
    """A node of the taxonomy (staff only)."""
    if not actor.is_staff:
        raise errors.PERMISSION_DENIED(missing_permissions=[], required_roles=["admin"])
    slug = slug or slugify(name)
    parent = None
    if parent_slug:
        parent = Category.objects.filter(slug=parent_slug).first()
        if parent is None:
            raise errors.UNKNOWN_CATEGORY(categories=[parent_slug])
    if Category.objects.filter(slug=slug).exists():
        raise errors.CATEGORY_EXISTS(slug=slug)
    category = Category(slug=slug, name=name, parent=parent, translations=translations or {})
    category.save()
    after_commit()
    return category
