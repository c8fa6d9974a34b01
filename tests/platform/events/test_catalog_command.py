"""``manage.py events_catalog`` prints the events catalogue and fails on undeclared subscriptions."""

from __future__ import annotations

import json
import re

from coko.devtools.testing.manage import manage

UNSET = ("COKO_EXTRA_HANDLER_MODULES",)  # the domains' own handlers only


def test_the_catalogue_lists_each_event_with_its_producer_fields_and_consumers():
    result = manage("events_catalog", unset=UNSET)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("user.registered "))
    assert re.fullmatch(
        r"user\.registered v1  from accounts  payload coko\.domains\.accounts\.contracts\.UserRegistered"
        r"  consumers: .*\bnotifications\.welcome_new_user\b.*", line), line
    block = re.split(r"\n(?=\S)", result.stdout.split(line, 1)[1], maxsplit=1)[0]  # its indented lines
    assert "    user_id: str\n" in block and "    marketing_consent: bool\n" in block
    assert "book.published v1  from catalog" in result.stdout
    assert "    owner_id: str | None = None\n" in result.stdout  # a default is shown as written


def test_the_catalogue_as_json_and_markdown():
    as_json = manage("events_catalog", "--format", "json", unset=UNSET)
    assert as_json.returncode == 0, as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["errors"] == []
    event = next(e for e in data["events"] if e["type"] == "user.registered")
    assert event["producer"] == "accounts" and event["version"] == 1
    assert "notifications.welcome_new_user" in event["consumers"]
    assert {"name": "user_id", "type": "str", "required": True, "default": None} in event["fields"]
    book = next(e for e in data["events"] if e["type"] == "book.published")
    assert {"name": "owner_id", "type": "str | None", "required": False, "default": "None"} in book["fields"]
    assert {"name": "author_ids", "type": "tuple[str, ...]", "required": False, "default": "()"} in book["fields"]

    as_markdown = manage("events_catalog", "--format", "markdown", unset=UNSET)
    assert as_markdown.returncode == 0, as_markdown.stderr
    assert "### `user.registered` (v1)" in as_markdown.stdout
    assert "| `owner_id` | `str \\| None` | `None` |" in as_markdown.stdout


def test_a_subscription_to_an_undeclared_type_fails_the_catalogue():
    result = manage("events_catalog", COKO_EXTRA_HANDLER_MODULES="tests.platform.events.undeclared_handlers")
    assert result.returncode == 1
    assert "analytics.test_deaf subscribes to 'test.nobody_declares', which no domain declares" in result.stderr
    assert "user.registered v1  from accounts" in result.stdout  # the catalogue is printed all the same
