"""Goodreads tags as Coko categories: spelling variants merged, shelf words dropped, each tag
filed under one of Coko's top-level categories, and a book's most relevant categories."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

from django.utils.text import slugify

from ..models import Category
from .writer import CategorySpec

RELEVANT_CATEGORIES = 5

# Goodreads tags -> Coko categories. A tag is cut into tokens, spelling variants merged
# ("sci-fi", "scifi", "science-fiction" -> scifi), shelf words dropped ("to-read", "owned",
# "favorite" …); tags with the same tokens are one category. Its top-level category is the
# first rule below whose tokens it contains; everything else is fiction.
_PHRASES = [
    ("science-fiction", "scifi"), ("sci-fi", "scifi"), ("non-fiction", "nonfiction"), ("young-adults", "ya"),
    ("young-adult", "ya"), ("children-s", "children"), ("women-s", "womens"), ("auto-biography", "autobiography"),
    ("world-war-ii", "ww2"), ("world-war-2", "ww2"), ("world-war-two", "ww2"), ("world-war-ll", "ww2"),
    ("u-s-history", "us-history"), ("middle-grades", "middlegrade"), ("middle-grade", "middlegrade"),
    ("chick-lit", "chicklit"), ("true-crime", "truecrime"), ("love-story", "lovestory"),
    ("fairy-tales", "fairytales"), ("graphic-novels", "graphicnovels"), ("graphic-novel", "graphicnovels"),
    ("comic-books", "comics"), ("new-adult", "newadult"), ("self-help", "selfhelp"),
    ("magical-realism", "magicalrealism"), ("magic-realism", "magicalrealism"),
    ("alternate-history", "althistory"), ("alternative-history", "althistory"), ("alt-history", "althistory"),
    ("picture-books", "picturebooks"), ("chapter-books", "chapterbooks"), ("ghost-stories", "ghosts"),
    ("dungeons-and-dragons", "dnd"), ("detective-stories", "detective"), ("historical-fiction", "historical"),
]
_TOKENS = {
    "childrens": "children", "childrensbooks": "children", "kids": "children", "mysteries": "mystery",
    "thrillers": "thriller", "memoirs": "memoir", "biographies": "biography", "bios": "biography",
    "bio": "biography", "romances": "romance", "mangas": "manga", "comic": "comics", "detectives": "detective",
    "teens": "ya", "teen": "ya", "teenlit": "ya", "sciencefiction": "scifi", "sf": "scifi", "historic": "historical",
    "historicals": "historical", "historicalfiction": "historical", "fic": "fiction", "ghost": "ghosts",
    "witch": "witches", "witchcraft": "witches", "dragon": "dragons", "wars": "war", "warfare": "war",
    "humour": "humor", "royals": "royalty", "shojo": "shoujo", "christianfiction": "christian",
    "contemp": "contemporary", "awards": "award", "classic": "classics", "classical": "classics",
    "lit": "literature", "na": "newadult", "thriler": "thriller",
}
_NOISE = {"read", "to", "own", "owned", "i", "ve", "favorite", "favourite", "favorites", "my", "good", "genre",
          "02", "04", "the", "a", "and", "other", "general", "for", "collection", "series", "books", "book",
          "novels", "novel", "stories", "winners", "winner", "winning", "punya", ""}
_DISPLAY_NOISE = {"read", "to", "own", "owned", "i", "ve", "favorite", "favourite", "my", "good", "genre", "02",
                  "04", "the", "other", "general", "a", "punya"}
_SKIP_TAGS = {"vaginal-fantasy"}  # a book club's shelf, not a genre

_TOP_RULES: list[tuple[str, list[frozenset]]] = [
    (top, [frozenset(k.split("+")) for k in keys]) for top, keys in [
        ("non-fiction", ["truecrime"]),
        ("history", ["historical+nonfiction"]),
        ("fiction", ["althistory", "magicalrealism"]),
        ("comics", ["manga", "comics", "graphicnovels", "manhwa", "manhua", "superhero", "dc", "vertigo", "shoujo",
                    "shonen", "anime"]),
        ("children", ["children", "middlegrade", "juvenile", "j", "junior", "newbery", "caldecott", "picturebooks",
                      "chapterbooks", "childhood", "youth"]),
        ("young-adult", ["ya", "printz"]),
        ("poetry", ["poetry", "poems", "plays", "drama"]),
        ("biography-memoir", ["biography", "memoir", "autobiography"]),
        ("religion-philosophy", ["religion", "religious", "christian", "philosophy", "inspirational", "spirituality",
                                 "theology"]),
        ("romance", ["romance", "lovestory", "chicklit", "erotic", "erotica", "regency", "newadult"]),
        ("horror", ["horror", "ghosts", "creepy", "gothic", "vampire"]),
        ("mystery-thriller", ["mystery", "thriller", "suspense", "crime", "detective", "noir", "spy", "legal", "cozy",
                              "forensic", "murder"]),
        ("fantasy-science-fiction", ["fantasy", "scifi", "speculative", "dystopia", "cyberpunk", "space", "aliens",
                                     "magic", "magical", "wizards", "witches", "dragons", "paranormal",
                                     "supernatural", "mythology", "fairytales", "folklore", "steampunk", "hugo",
                                     "dnd", "warriors"]),
        ("history", ["history", "war", "military", "ww2", "microhistory", "royalty"]),
        ("classics", ["classics", "victorian", "penguin", "19th"]),
        ("non-fiction", ["nonfiction", "psychology", "economics", "politics", "political", "business", "science",
                         "selfhelp", "sociology", "finance", "narrative"]),
    ]
]


def _subsets(*tokens: str) -> list[frozenset]:
    return [frozenset(c) for n in range(1, len(tokens) + 1) for c in combinations(tokens, n)]


#: tags that *are* a top-level category (no child of their own)
_TOP_ITSELF: dict[str, list[frozenset]] = {
    "fiction": [frozenset({"fiction"})],
    "comics": _subsets("comics", "graphicnovels"),
    "children": [frozenset({"children"})],
    "young-adult": [frozenset({"ya"})],
    "poetry": [frozenset({"poetry"}), frozenset({"poetry", "plays"})],
    "biography-memoir": _subsets("biography", "memoir", "autobiography"),
    "religion-philosophy": [frozenset({"religion", "philosophy"})],
    "romance": [frozenset({"romance"})],
    "horror": [frozenset({"horror"})],
    "mystery-thriller": [frozenset({"mystery", "thriller"}), frozenset({"mystery", "thriller", "suspense"}),
                         frozenset({"crime", "mystery", "thriller"}),
                         frozenset({"crime", "mystery", "suspense", "thriller"})],
    "fantasy-science-fiction": [frozenset({"fantasy", "scifi"}), frozenset({"speculative"})],
    "history": [frozenset({"history"})],
    "classics": [frozenset({"classics"})],
    "non-fiction": [frozenset({"nonfiction"})],
}
#: display slugs for a few merged tags whose most common spelling reads badly
_DISPLAY = {frozenset({"historical"}): "historical-fiction", frozenset({"scifi"}): "science-fiction",
            frozenset({"ww2"}): "world-war-ii", frozenset({"children", "picturebooks"}): "picture-books"}


def tag_tokens(tag: str) -> frozenset:
    """The tokens of a Goodreads tag, spelling variants merged and shelf words dropped."""
    text = f"-{tag.strip().lower()}-"
    for phrase, token in _PHRASES:
        text = text.replace(f"-{phrase}-", f"-{token}-")
    tokens = [_TOKENS.get(t, t) for t in text.split("-")]
    tokens = {t for t in tokens if t not in _NOISE}
    if len(tokens) > 1:
        tokens.discard("fiction")
    return frozenset(tokens)


def tag_top(tokens: frozenset) -> str:
    """The top-level category of a tag's tokens (first matching rule; fiction otherwise)."""
    for top, keys in _TOP_RULES:
        if any(key <= tokens for key in keys):
            return top
    return "fiction"


def _display_slug(tag: str) -> str:
    return "-".join(t for t in tag.split("-") if t not in _DISPLAY_NOISE) or tag


def _humanise(slug: str) -> str:
    words = slug.replace("-s-", "'s-").split("-")
    fixes = {"ya": "YA", "dc": "DC", "us": "US", "ii": "II", "sci": "sci", "u": "U"}
    text = " ".join(fixes.get(w, w) for w in words if w)
    return (text[:1].upper() + text[1:])[:120]


@dataclass
class GenreTaxonomy:
    """Goodreads tags as Coko categories: each tag's category slug, and the children to create."""

    tag_category: dict[str, str]  # tag -> category slug (a top-level slug or a child slug)
    children: list[CategorySpec]
    document_frequency: Counter  # category slug -> books carrying it


def genre_taxonomy(genres_by_book: dict[str, list[str]], *, existing: dict[str, Category] | None = None
                   ) -> GenreTaxonomy:
    """Turn the tags of every book into child categories of Coko's top-level categories."""
    existing = existing or {}
    tag_counts = Counter(t for tags in genres_by_book.values() for t in set(tags))
    clusters: dict[tuple[str, frozenset], list[str]] = defaultdict(list)
    tag_cluster: dict[str, tuple[str, frozenset]] = {}
    for tag in tag_counts:
        if tag in _SKIP_TAGS:
            continue
        tokens = tag_tokens(tag)
        if not tokens:
            continue
        top = tag_top(tokens)
        clusters[(top, tokens)].append(tag)
        tag_cluster[tag] = (top, tokens)
    cluster_slug: dict[tuple[str, frozenset], str] = {}
    children: list[CategorySpec] = []
    used = set(existing) | {top for top, _ in _TOP_RULES} | {"fiction"}
    for (top, tokens), tags in sorted(clusters.items(), key=lambda kv: (-sum(tag_counts[t] for t in kv[1]),
                                                                         sorted(kv[1]))):
        if tokens in _TOP_ITSELF.get(top, ()):
            cluster_slug[(top, tokens)] = top
            continue
        best = max(tags, key=lambda t: (tag_counts[t], -len(t), t))
        slug = slugify(_DISPLAY.get(tokens) or _display_slug(best))[:120] or slugify(best)[:120]
        cluster_slug[(top, tokens)] = slug
        if slug in used:  # an existing category (ours, or staff's) with this slug: file the books there
            continue
        used.add(slug)
        children.append(CategorySpec(slug=slug, name=_humanise(slug), parent=top,
                                     position=len(children)))
    tag_category = {tag: cluster_slug[key] for tag, key in tag_cluster.items()}
    frequency: Counter = Counter()
    for tags in genres_by_book.values():
        frequency.update({tag_category[t] for t in tags if t in tag_category})
    return GenreTaxonomy(tag_category=tag_category, children=children, document_frequency=frequency)


def relevant_categories(tags: Iterable[str], taxonomy_: GenreTaxonomy, *, books: int,
                        limit: int = RELEVANT_CATEGORIES) -> list[str]:
    """A book's ``limit`` most relevant categories.

    The genres list is alphabetical and its tag counts were dropped, so relevance is rebuilt
    TF-IDF style: a category scores (how many of the book's tags land in it — several shelf
    names agreeing is a strong signal) × log(books / books carrying the category) — a category
    nearly every book has ("fiction") says little. Ties go to the more specific category, then by slug.
    """
    hits = Counter(taxonomy_.tag_category[t] for t in tags if t in taxonomy_.tag_category)
    frequency = taxonomy_.document_frequency

    def score(slug: str) -> tuple:
        df = max(1, frequency.get(slug, 1))
        return (-(hits[slug] * math.log((books + 1) / df)), df, slug)

    return sorted(hits, key=score)[:limit]
