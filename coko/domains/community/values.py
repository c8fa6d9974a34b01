"""Pure rules of the community domain (ratings, languages, posts' Markdown): no models, no services."""

from __future__ import annotations

import re
import unicodedata

import nh3
from markdown_it import MarkdownIt

from . import errors
from .contracts import RATING_MAX, RATING_MIN

_LANGUAGE = re.compile(r"[a-z]{2,3}")


def rating_checked(rating) -> int:
    """``rating`` if it is a whole number from 1 to 5, or ``review_rating_invalid``."""
    if type(rating) is not int or not RATING_MIN <= rating <= RATING_MAX:
        raise errors.REVIEW_RATING_INVALID(rating=rating if isinstance(rating, int | float | str) else None)
    return rating


def language_checked(language: str) -> str:
    """An ISO 639 code in lower case (``fr``, ``wo``, ``ff``), or ``review_language_invalid``."""
    code = (language or "").strip().lower()
    if not _LANGUAGE.fullmatch(code):
        raise errors.REVIEW_LANGUAGE_INVALID(language=language)
    return code


# --- posts: Markdown, rendered then sanitised -------------------------------------------------------
#: ``@handle`` where a word does not go on before it (an e-mail address is not a mention).
MENTION = re.compile(r"(?<![\w@/.])@([A-Za-z0-9_]{2,32})")
#: Where a mention links to (a reader's page in the client).
MEMBER_PATH = "/community/members/{handle}"
#: What a post's HTML may hold: text markup and links, nothing that runs, styles or loads.
POST_TAGS = {"p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr",
             "h3", "h4", "table", "thead", "tbody", "tr", "th", "td"}
POST_LINK_REL = "nofollow ugc noopener"

# CommonMark with raw HTML off (a tag is shown as text), strikethrough and tables on.
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["strikethrough", "table"])


def mentioned_handles(body: str) -> list[str]:
    """The ``@handles`` a post names, in lower case, each once, in order."""
    seen: dict[str, None] = {}
    for match in MENTION.finditer(body or ""):
        seen.setdefault(match.group(1).lower(), None)
    return list(seen)


def post_html(*, body: str, handles: frozenset[str] | set[str] = frozenset()) -> str:
    """A post's Markdown as safe HTML: the ``@handles`` of real members as links, raw HTML
    shown as text, then sanitised (no script, style, event handler or image; links only to
    http, https and mailto, each with ``rel="nofollow ugc noopener"``)."""
    def link(match: re.Match) -> str:
        handle = match.group(1).lower()
        return f"[@{handle}]({MEMBER_PATH.format(handle=handle)})" if handle in handles else match.group(0)

    rendered = _MARKDOWN.render(MENTION.sub(link, body or ""))
    return nh3.clean(rendered, tags=POST_TAGS, clean_content_tags={"script", "style"},
                     attributes={"a": {"href", "title"}, "th": {"align"}, "td": {"align"}},
                     url_schemes={"http", "https", "mailto"}, link_rel=POST_LINK_REL).strip()


def handle_from_name(name: str) -> str:
    """A handle made from a display name: ASCII letters, digits and ``_``, 3 to 24 long."""
    ascii_name = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode()
    handle = re.sub(r"[^a-z0-9]+", "_", ascii_name.lower()).strip("_")[:24]
    return handle if len(handle) >= 3 else f"reader_{handle}".strip("_")
