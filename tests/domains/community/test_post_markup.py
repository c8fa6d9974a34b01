"""Post bodies are Markdown rendered to HTML and sanitised: known XSS payloads come out inert,
links carry rel="nofollow ugc noopener"; @mentions of readers become links and tell them."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from coko.devtools.testing.events import deliver_pending, outbox_events
from coko.domains.community import contracts
from coko.domains.community.testing import forum_for_test, topic_opened
from coko.domains.notifications.testing import deliver_queued, inbox_titles

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "<svg/onload=alert(1)>",
    "[clic](javascript:alert(1))",
    "[clic](JaVaScRiPt:alert(1))",
    "[clic](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="http://x" onclick="alert(1)">x</a>',
    "<style>body{display:none}</style>",
    '<iframe src="https://evil.example"></iframe>',
    "![x](https://evil.example/pixel.png)",
    '<div style="background:url(javascript:alert(1))">x</div>',
]


SAFE_TAGS = {"p", "br", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr",
             "h3", "h4", "table", "thead", "tbody", "tr", "th", "td"}


class Elements(HTMLParser):
    """The elements and attributes a browser would build from some HTML."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def _unsafe(html: str) -> list:
    problems = []
    for tag, attrs in Elements(html).found:
        if tag not in SAFE_TAGS:
            problems.append(tag)
        problems += [name for name in attrs if name.startswith("on") or name in ("style", "src")]
        href = (attrs.get("href") or "").strip().lower()
        if href and not href.startswith(("http://", "https://", "mailto:", "/")):
            problems.append(href)
    return problems


@pytest.fixture
def topic(reader):
    forum = forum_for_test()
    return topic_opened(reader, forum_id=forum["id"])


@pytest.mark.parametrize("payload", XSS)
def test_known_xss_payloads_come_out_inert(reader, visitor, topic, payload):
    created = reader.post("/community/posts", {"topic_id": topic["id"], "body": payload})
    assert created.status_code == 201
    html = visitor.get(f"/community/posts/{created.data['id']}").data["html"]
    assert html and _unsafe(html) == [], (payload, html)
    assert created.data["body"] == payload  # the Markdown as written is kept (the client shows it as text)


def test_the_checker_itself_sees_unsafe_markup():
    assert _unsafe('<p onclick="x">a</p><img src=x><a href="javascript:x">y</a>') == [
        "onclick", "img", "src", "javascript:x"]


def test_markdown_renders_and_links_are_nofollow_ugc_noopener(reader, topic):
    body = "**Gras**, *italique* et [Coko](https://coko.africa)\n\n> citation\n\n- un\n- deux"
    html = reader.post("/community/posts", {"topic_id": topic["id"], "body": body}).data["html"]
    assert "<strong>Gras</strong>" in html and "<em>italique</em>" in html
    assert '<a href="https://coko.africa" rel="nofollow ugc noopener">Coko</a>' in html
    assert "<blockquote>" in html and "<li>deux</li>" in html


def test_a_mention_links_the_reader_and_tells_them(reader, other_reader, topic):
    other_reader.post("/community/posts", {"topic_id": topic["id"], "body": "Bonjour"})  # Moussa is @moussa
    post = reader.post("/community/posts", {"topic_id": topic["id"],
                                            "body": "Tu en penses quoi @Moussa ? Et @inconnu ? a@b.sn"}).data
    assert '<a href="/community/members/moussa" rel="nofollow ugc noopener">@moussa</a>' in post["html"]
    assert "@inconnu" in post["html"] and "/members/inconnu" not in post["html"] and "a@b.sn" in post["html"]
    [event] = outbox_events("community", contracts.COMMUNITY_MENTIONED)
    mention = event.payload_as(contracts.CommunityMentioned)
    assert (mention.mentioned_user_id, mention.author_handle, mention.post_id) == (
        other_reader.user_id, "awa", post["id"])

    assert deliver_pending(producer="community", handler="notifications.tell_mentioned_reader") == 1
    deliver_queued()
    assert inbox_titles(other_reader)[0] == "@awa vous a mentionné dans « Vos lectures du mois »"


def test_an_edit_tells_only_the_newly_mentioned_and_nobody_is_told_of_their_own_name(reader, other_reader,
                                                                                    topic):
    other_reader.post("/community/posts", {"topic_id": topic["id"], "body": "Salut"})
    post = reader.post("/community/posts", {"topic_id": topic["id"], "body": "@moussa et moi, @awa"}).data
    assert len(outbox_events("community", contracts.COMMUNITY_MENTIONED)) == 1  # not @awa, the author
    reader.patch(f"/community/posts/{post['id']}", {"body": "@moussa, encore"})
    assert len(outbox_events("community", contracts.COMMUNITY_MENTIONED)) == 1
