"""What a feed holds, whatever its rendering: a navigation or acquisition :class:`Feed`, its
navigation items and facet groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from .entries import Book
from .vocabulary import Target

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
class Group:
    """A curated row of a feed (OPDS 2.0 ``groups``): a few books and the feed of them all."""

    title: str
    target: Target
    books: list[Book]
    total: int | None = None


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
    groups: list[Group] = field(default_factory=list)  # OPDS 2.0 only (1.2 has a navigation entry)
    first: Target | None = None
    previous: Target | None = None
    next: Target | None = None
    total: int | None = None
    per_page: int | None = None
    page: int | None = None
