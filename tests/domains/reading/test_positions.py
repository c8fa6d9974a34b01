"""A reader's place in a book, through the Coko API: one canonical record per (reader, book),
never moved backwards silently, with a short history and the started/progressed/completed events."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from coko.devtools.testing.events import outbox_events
from coko.domains.catalog.testing import published_book
from coko.domains.payments.testing import sellable_books_sync
from coko.domains.reading import api

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def locator(total: float, *, href: str = "OEBPS/chapter-03.xhtml", progression: float = 0.4, **extra) -> dict:
    return {"href": href, "type": "application/xhtml+xml", "title": "Chapitre 3",
            "locations": {"progression": progression, "totalProgression": total, "position": 12,
                          "fragments": ["p22"], "partialCfi": "/4/2/8"},
            "text": {"before": "Il était", "highlight": " une fois", "after": " un roi"}, **extra}


def write(api_client, book_id, total, *, device="phone", device_id="phone-1", **fields):
    body = {"locator": locator(total), "device": device, "device_id": device_id, **fields}
    return api_client.post(f"/reading/progress/{book_id}", body)


def test_a_position_written_on_the_phone_is_read_back_on_the_web_as_it_was_sent(reader, book):
    written = write(reader, book["id"], 0.25)
    assert written.status_code == 200, written.data
    assert (written.data["accepted"], written.data["conflict"]) == (True, False)
    got = reader.get(f"/reading/progress/{book['id']}")
    assert got.status_code == 200
    assert got.data["locator"] == locator(0.25)
    assert (got.data["progression"], got.data["authority"], got.data["device"], got.data["device_id"]) == (
        0.25, "locator", "phone", "phone-1")
    assert got.data["koreader"] is None and got.data["completed"] is False
    facade = api.position_for(user_id=reader.user_id, book_id=book["id"])
    assert facade.progression == 0.25 and facade.locator == locator(0.25)


def test_a_koreader_position_is_the_authority_when_it_is_what_the_client_sent(reader, book):
    body = {"koreader": {"progress": "/body/DocFragment[20]/body/p[22]/text().0", "percentage": 0.31},
            "device": "Kobo Clara", "device_id": "kobo-7"}
    assert reader.post(f"/reading/progress/{book['id']}", body).status_code == 200
    got = reader.get(f"/reading/progress/{book['id']}").data
    assert got["authority"] == "koreader" and got["progression"] == 0.31
    assert got["koreader"] == {"progress": "/body/DocFragment[20]/body/p[22]/text().0", "percentage": 0.31}
    # a later Locator becomes the authority; the XPointer stays, older (they do not convert)
    write(reader, book["id"], 0.33, device_id="kobo-7")
    got = reader.get(f"/reading/progress/{book['id']}").data
    assert (got["authority"], got["progression"]) == ("locator", 0.33)
    assert got["koreader"]["progress"] == "/body/DocFragment[20]/body/p[22]/text().0"


def test_a_book_never_read_has_no_position(reader, book):
    got = reader.get(f"/reading/progress/{book['id']}")
    assert got.status_code == 404 and got.data["error"]["code"] == "progress_not_found"


def test_a_write_behind_from_another_device_is_a_conflict_answered_with_the_stored_position(reader, book):
    write(reader, book["id"], 0.60, device="web", device_id="web-1")
    behind = write(reader, book["id"], 0.20, device="phone", device_id="phone-1")
    assert behind.status_code == 200
    assert (behind.data["accepted"], behind.data["conflict"]) == (False, True)
    assert behind.data["position"]["progression"] == 0.60 and behind.data["position"]["device"] == "web"
    assert reader.get(f"/reading/progress/{book['id']}").data["progression"] == 0.60
    # the reader chose to go back
    back = write(reader, book["id"], 0.20, device="phone", device_id="phone-1", jump_back=True)
    assert (back.data["accepted"], back.data["conflict"]) == (True, False)
    assert reader.get(f"/reading/progress/{book['id']}").data["progression"] == 0.20


def test_the_same_device_may_turn_back_a_page_but_an_older_write_is_a_conflict(reader, book, clock):
    write(reader, book["id"], 0.50)
    assert write(reader, book["id"], 0.49).data["accepted"]
    earlier = (clock.now() - timedelta(hours=1)).isoformat()
    stale = write(reader, book["id"], 0.70, device_id="web-1", modified=earlier)
    assert (stale.data["accepted"], stale.data["conflict"]) == (False, True)
    assert reader.get(f"/reading/progress/{book['id']}").data["progression"] == 0.49


def test_every_accepted_position_is_kept_in_a_short_history_newest_first(reader, book, settings):
    settings.COKO_READING = {**settings.COKO_READING, "HISTORY": 3}
    for total in (0.1, 0.2, 0.3, 0.4):
        write(reader, book["id"], total)
    write(reader, book["id"], 0.05, device_id="other")  # a conflict is not kept
    history = reader.get(f"/reading/progress/{book['id']}/history")
    assert history.status_code == 200
    assert [h["progression"] for h in history.data] == [0.4, 0.3, 0.2]
    # a mistaken sync is undone by writing an older entry back
    undo = reader.post(f"/reading/progress/{book['id']}",
                       {"locator": history.data[1]["locator"], "device_id": "phone-1", "jump_back": True})
    assert undo.data["accepted"] and reader.get(f"/reading/progress/{book['id']}").data["progression"] == 0.3


def test_continue_reading_lists_my_books_most_recently_read_first_in_pages(reader, author, clock):
    books = [published_book(author, title=f"Livre {n}") for n in range(3)]
    sellable_books_sync()
    for n, made in enumerate(books):
        write(reader, made["id"], 0.1 * (n + 1))
        clock.advance(60)
    write(reader, books[0]["id"], 0.5)  # read again last
    first = reader.get("/reading/progress?limit=2")
    assert first.status_code == 200
    assert [i["book"]["title"] for i in first.data["items"]] == ["Livre 0", "Livre 2"]
    assert first.data["items"][0]["progression"] == 0.5
    rest = reader.get(f"/reading/progress?limit=2&cursor={first.data['next_cursor']}")
    assert [i["book"]["title"] for i in rest.data["items"]] == ["Livre 1"] and rest.data["next_cursor"] is None
    assert reader.get("/reading/progress?cursor=nonsense").data["error"]["code"] == "invalid_page_cursor"


def test_someone_else_sees_none_of_my_positions(reader, book):
    from coko.domains.accounts.testing import user_with_roles

    write(reader, book["id"], 0.4)
    other = user_with_roles()
    assert other.get(f"/reading/progress/{book['id']}").status_code == 404
    assert other.get("/reading/progress").data["items"] == []


def test_one_write_costs_a_bounded_number_of_queries_on_the_reading_database(reader, book):
    write(reader, book["id"], 0.1)
    with CaptureQueriesContext(connections["reading"]) as queries:
        assert write(reader, book["id"], 0.12).data["accepted"]
    # lock the row, save it, add and trim the history (and the transaction's own statements)
    assert len(queries) <= 8, [q["sql"] for q in queries]


# --- events -------------------------------------------------------------------------------------
def _events(*types):
    return [(e.type, e.payload.get("progression")) for e in outbox_events("reading", *types)]


def test_started_once_progressed_throttled_and_completed_once(reader, book, clock, settings):
    settings.COKO_READING = {**settings.COKO_READING, "PROGRESSED_STEP": 0.05, "PROGRESSED_EVERY_S": 600,
                             "COMPLETED_AT": 0.98}
    write(reader, book["id"], 0.10)
    write(reader, book["id"], 0.11)
    write(reader, book["id"], 0.12)  # page turns: no event
    assert _events() == [("reading.started", 0.10)]
    write(reader, book["id"], 0.16)  # a twentieth of the book since the last one
    assert _events("reading.progressed") == [("reading.progressed", 0.16)]
    clock.advance(601)
    write(reader, book["id"], 0.17)  # ten minutes later, any step forward
    assert _events("reading.progressed")[-1] == ("reading.progressed", 0.17)
    write(reader, book["id"], 0.99)
    write(reader, book["id"], 1.0)
    completed = outbox_events("reading", "reading.completed")
    assert len(completed) == 1 and completed[0].payload["user_id"] == reader.user_id
    assert completed[0].payload["book_id"] == book["id"]
    assert reader.get(f"/reading/progress/{book['id']}").data["completed"] is True
    assert len(outbox_events("reading", "reading.started")) == 1


# --- bad input: the error envelope, nothing changed ----------------------------------------------
BAD_LOCATORS = [
    ("not an object", "locator", "invalid_locator"),
    ({"type": "application/xhtml+xml", "locations": {"progression": 0.1, "totalProgression": 0.1}},
     "locator.href", "invalid_locator"),
    ({"href": "c.xhtml#p3", "type": "application/xhtml+xml", "locations": {"progression": 0.1}},
     "locator.href", "invalid_locator"),
    ({"href": "c.xhtml", "locations": {"progression": 0.1}}, "locator.type", "invalid_locator"),
    ({"href": "c.xhtml", "type": "xhtml", "locations": {"progression": 0.1}}, "locator.type", "invalid_locator"),
    ({"href": "c.xhtml", "type": "application/xhtml+xml", "locations": {"totalProgression": 0.1}},
     "locator.locations.progression", "invalid_locator"),
    ({"href": "c.xhtml", "type": "application/xhtml+xml", "locations": {"progression": 0.1, "position": 0}},
     "locator.locations.position", "invalid_locator"),
    ({"href": "c.xhtml", "type": "application/xhtml+xml", "locations": {"progression": 0.1, "fragments": "p3"}},
     "locator.locations.fragments", "invalid_locator"),
    ({"href": "c.xhtml", "type": "application/xhtml+xml", "locations": {"progression": 0.1}, "text": {"before": 3}},
     "locator.text.before", "invalid_locator"),
    ({"href": "c.xhtml", "type": "application/xhtml+xml", "locations": {"progression": 1.5}},
     "locator.locations.progression", "invalid_progression"),
    ({"href": "c.xhtml", "type": "application/xhtml+xml", "locations": {"progression": 0.2, "totalProgression": -0.1}},
     "locator.locations.totalProgression", "invalid_progression"),
]


@pytest.mark.parametrize(("bad", "field", "code"), BAD_LOCATORS)
def test_a_malformed_locator_is_refused_and_changes_nothing(reader, book, bad, field, code):
    write(reader, book["id"], 0.3)
    refused = reader.post(f"/reading/progress/{book['id']}", {"locator": bad, "device_id": "phone-1"})
    assert refused.status_code == 422, refused.data
    assert refused.data["error"]["code"] == code and refused.data["error"]["details"]["field"] == field
    assert reader.get(f"/reading/progress/{book['id']}").data["locator"] == locator(0.3)


def test_a_percentage_outside_0_1_a_missing_position_and_a_future_time_are_refused(reader, book, clock):
    write(reader, book["id"], 0.3)
    cases = [
        ({"koreader": {"progress": "12", "percentage": 1.2}}, "invalid_progression"),
        ({"koreader": {"progress": "12", "percentage": -0.01}}, "invalid_progression"),
        ({"device": "phone"}, "position_missing"),
        ({"locator": {"href": "c.xhtml", "type": "application/xhtml+xml", "locations": {"progression": 0.2}}},
         "position_missing"),  # no totalProgression: nothing in common with the other clients
        ({"locator": locator(0.4), "modified": (clock.now() + timedelta(minutes=10)).isoformat()},
         "client_time_in_future"),
    ]
    for body, code in cases:
        refused = reader.post(f"/reading/progress/{book['id']}", body)
        assert (refused.status_code, refused.data["error"]["code"]) == (422, code), (body, refused.data)
    # a little skew is tolerated
    assert write(reader, book["id"], 0.31, modified=(clock.now() + timedelta(seconds=30)).isoformat()).data["accepted"]
    assert len(outbox_events("reading")) == 1  # started, once: nothing refused was announced


def test_an_unknown_book_and_a_book_i_may_not_read_are_refused(reader, author):
    unknown = write(reader, "00000000-0000-4000-8000-000000000000", 0.2)
    assert (unknown.status_code, unknown.data["error"]["code"]) == (404, "book_not_found")
    locked = published_book(author, access_model="subscription")
    sellable_books_sync()
    refused = write(reader, locked["id"], 0.2)
    assert (refused.status_code, refused.data["error"]["code"]) == (403, "book_not_readable")
    assert refused.data["error"]["details"] == {"book_id": locked["id"], "reason": "no_entitlement"}
    assert reader.get("/reading/progress").data["items"] == []
    # its author may keep their place in it
    assert write(author, locked["id"], 0.2).data["accepted"]


def test_a_free_book_payments_has_not_heard_of_yet_is_open(reader, author):
    fresh = published_book(author)  # payments' projection not yet updated
    assert write(reader, fresh["id"], 0.2).data["accepted"]


def test_continue_reading_refuses_a_query_parameter_it_does_not_take(reader):
    refused = reader.get("/reading/progress?limit=2&sort=title")
    assert refused.status_code == 422 and refused.data["error"]["code"] == "validation_error"
    assert refused.data["error"]["details"][0]["loc"] == ["query", "sort"]
