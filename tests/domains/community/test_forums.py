"""Forums: staff create them (named in French and English), readers open topics and post
(replies, edits with their history, tombstones), moderators pin and lock; pages stay right
while people post."""

from __future__ import annotations

import pytest
from django.test import Client

from coko.devtools.testing.events import outbox_events
from coko.domains.accounts.testing import console_login
from coko.domains.community.models import Forum, Post, PostRevision, Topic
from coko.domains.community.testing import forum_for_test, topic_opened

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def _code(response) -> str:
    return response.data["error"]["code"]


@pytest.fixture
def forum():
    return forum_for_test(slug="lectures", fr="Lectures", en="Reading")


def test_staff_create_a_forum_in_the_console_and_readers_see_it_in_their_language(visitor):
    console = Client()
    console_login(console)
    response = console.post("/admin/community/forum/add/", {
        "slug": "auteurs", "position": 1, "name_fr": "Auteurs africains", "name_en": "African authors",
        "description_fr": "Parlons d’eux", "description_en": ""})
    assert response.status_code == 302, response.content[:2000]
    assert Forum.objects.get(slug="auteurs").names == {"fr": "Auteurs africains", "en": "African authors"}
    [french] = visitor.get("/community/forums", HTTP_ACCEPT_LANGUAGE="fr").data
    [english] = visitor.get("/community/forums", HTTP_ACCEPT_LANGUAGE="en").data
    assert (french["name"], french["description"]) == ("Auteurs africains", "Parlons d’eux")
    assert (english["name"], english["description"]) == ("African authors", "Parlons d’eux")
    assert console.get("/admin/community/topic/").status_code == 200


def test_a_reader_opens_a_topic_and_others_reply(reader, other_reader, visitor, forum):
    topic = topic_opened(reader, forum_id=forum["id"], title="Mariama Bâ", body="Qui l’a lu ?")
    assert topic["post_count"] == 1 and topic["author_handle"] == "awa"
    [first] = visitor.get(f"/community/topics/{topic['id']}/posts").data["items"]
    reply = other_reader.post("/community/posts", {"topic_id": topic["id"], "body": "Moi !",
                                                   "parent_id": first["id"]})
    assert reply.status_code == 201 and reply.data["parent_id"] == first["id"]
    assert reply.data["author_handle"] == "moussa"
    assert visitor.get(f"/community/topics/{topic['id']}").data["post_count"] == 2
    thread = visitor.get(f"/community/topics/{topic['id']}/posts").data["items"]
    assert [p["html"] for p in thread] == ["<p>Qui l’a lu ?</p>", "<p>Moi !</p>"]


def test_bad_posts_are_refused_and_nothing_changes(reader, forum):
    topic = topic_opened(reader, forum_id=forum["id"])
    other_topic = topic_opened(reader, forum_id=forum["id"], title="Autre sujet")
    foreign = Post.objects.filter(topic_id=other_topic["id"]).get()
    cases = [
        ({"topic_id": "00000000-0000-4000-8000-000000000000", "body": "x"}, 404, "topic_not_found"),
        ({"topic_id": topic["id"], "body": "   "}, 422, "post_empty"),
        ({"topic_id": topic["id"], "body": "x", "parent_id": str(foreign.id)}, 422, "post_parent_invalid"),
        ({"topic_id": topic["id"], "body": "x" * 40_001}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        response = reader.post("/community/posts", body)
        assert (response.status_code, _code(response)) == (status, code), body
    missing_forum = reader.post("/community/topics", {"forum_id": "00000000-0000-4000-8000-000000000000",
                                                      "title": "Sujet", "body": "x"})
    assert missing_forum.status_code == 404 and _code(missing_forum) == "forum_not_found"
    assert Post.objects.count() == 2 and Topic.objects.count() == 2


def test_the_author_edits_a_post_and_its_history_is_kept(reader, other_reader, visitor, forum, clock):
    topic = topic_opened(reader, forum_id=forum["id"], body="Premier jet")
    [post] = visitor.get(f"/community/topics/{topic['id']}/posts").data["items"]
    clock.advance(30)
    assert reader.patch(f"/community/posts/{post['id']}", {"body": "Deuxième jet"}).status_code == 200
    clock.advance(30)
    edited = reader.patch(f"/community/posts/{post['id']}", {"body": "Version *finale*"})
    assert edited.data["html"] == "<p>Version <em>finale</em></p>" and edited.data["edited_at"]
    history = visitor.get(f"/community/posts/{post['id']}/revisions").data
    assert [r["body"] for r in history] == ["Premier jet", "Deuxième jet"]
    assert history[1]["written_at"] == history[0]["replaced_at"]
    assert other_reader.patch(f"/community/posts/{post['id']}", {"body": "pirate"}).status_code == 403
    assert Post.objects.get(id=post["id"]).body == "Version *finale*"


def test_a_deleted_post_leaves_a_tombstone_and_its_replies_stay(reader, other_reader, moderator, visitor, forum):
    topic = topic_opened(reader, forum_id=forum["id"])
    [opening] = visitor.get(f"/community/topics/{topic['id']}/posts").data["items"]
    reply = other_reader.post("/community/posts", {"topic_id": topic["id"], "body": "Réponse",
                                                   "parent_id": opening["id"]}).data
    reader.patch(f"/community/posts/{opening['id']}", {"body": "Texte modifié"})
    assert other_reader.delete(f"/community/posts/{opening['id']}").status_code == 403
    assert reader.delete(f"/community/posts/{opening['id']}").status_code == 204
    thread = visitor.get(f"/community/topics/{topic['id']}/posts").data["items"]
    assert [(p["deleted"], p["body"], p["html"]) for p in thread] == [(True, "", ""), (False, "Réponse",
                                                                                      "<p>Réponse</p>")]
    assert thread[1]["parent_id"] == opening["id"]
    assert not PostRevision.objects.filter(post_id=opening["id"]).exists()  # its history goes with it
    again = reader.patch(f"/community/posts/{opening['id']}", {"body": "revenant"})
    assert again.status_code == 409 and _code(again) == "post_deleted"
    assert moderator.delete(f"/community/posts/{reply['id']}").status_code == 204  # moderators: any post


def test_moderators_pin_and_lock_topics(reader, other_reader, moderator, visitor, forum, clock):
    older = topic_opened(reader, forum_id=forum["id"], title="Règles du forum")
    clock.advance(60)
    newer = topic_opened(reader, forum_id=forum["id"], title="Nouveautés")
    assert reader.post(f"/community/topics/{older['id']}/moderation", {"pinned": True}).status_code == 403
    pinned = moderator.post(f"/community/topics/{older['id']}/moderation", {"pinned": True, "locked": True})
    assert (pinned.data["pinned"], pinned.data["locked"]) == (True, True)
    listed = visitor.get(f"/community/forums/{forum['id']}/topics").data["items"]
    assert [t["id"] for t in listed] == [older["id"], newer["id"]]

    refused = other_reader.post("/community/posts", {"topic_id": older["id"], "body": "Puis-je ?"})
    assert refused.status_code == 409 and _code(refused) == "topic_locked"
    [first] = visitor.get(f"/community/topics/{older['id']}/posts").data["items"]
    assert reader.patch(f"/community/posts/{first['id']}", {"body": "changé"}).status_code == 409
    assert Post.objects.filter(topic_id=older["id"]).count() == 1
    moderator.post(f"/community/topics/{older['id']}/moderation", {"locked": False})
    assert other_reader.post("/community/posts", {"topic_id": older["id"], "body": "Merci"}).status_code == 201


def test_a_topics_pages_stay_right_while_people_post(reader, other_reader, visitor, forum, clock):
    topic = topic_opened(reader, forum_id=forum["id"], body="0")
    for n in range(1, 6):
        clock.advance(1)
        other_reader.post("/community/posts", {"topic_id": topic["id"], "body": str(n)})
    first = visitor.get(f"/community/topics/{topic['id']}/posts?limit=4").data
    for n in range(6, 8):  # two more arrive while the reader reads the first page
        clock.advance(1)
        reader.post("/community/posts", {"topic_id": topic["id"], "body": str(n)})
    rest = visitor.get(f"/community/topics/{topic['id']}/posts?limit=4&cursor={first['next_cursor']}").data
    bodies = [p["body"] for p in first["items"] + rest["items"]]
    assert bodies == [str(n) for n in range(8)]
    assert rest["next_cursor"] is None


def test_posting_is_rate_limited_per_reader(reader, forum, settings):
    settings.COKO_COMMUNITY = {**settings.COKO_COMMUNITY, "POST_RATE": (2, 600)}
    topic = topic_opened(reader, forum_id=forum["id"])  # one
    assert reader.post("/community/posts", {"topic_id": topic["id"], "body": "deux"}).status_code == 201
    limited = reader.post("/community/posts", {"topic_id": topic["id"], "body": "trois"})
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert Post.objects.count() == 2 and not outbox_events("community")
