"""Messages follow Accept-Language (English, French); the committed .mo matches the .po."""

from __future__ import annotations

import ast
import gettext
from pathlib import Path

import pytest
from django.utils import translation

from coko.platform import errors

LC_MESSAGES = Path(errors.__file__).parent / "locale" / "fr" / "LC_MESSAGES"


def message(response) -> str:
    return response.json()["error"]["message"]


@pytest.mark.parametrize(("language", "expected"), [
    ("en", "The requested resource was not found."),
    ("fr", "La ressource demandée est introuvable."),
    ("fr-SN,fr;q=0.9,en;q=0.5", "La ressource demandée est introuvable."),
    ("wo", "The requested resource was not found."),  # Wolof: not yet, English it is
])
def test_the_same_error_in_the_client_s_language(client, language, expected):
    response = client.get("/api/v1/no-such-route", HTTP_ACCEPT_LANGUAGE=language)
    assert response.json()["error"]["code"] == "not_found"  # codes never change
    assert message(response) == expected
    assert "Accept-Language" in response["Vary"]


@pytest.mark.usefixtures("api_urls")
def test_validation_and_domain_errors_in_french(client):
    invalid = client.post("/api/test/items", {}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="fr")
    assert message(invalid) == "La requête contient des données invalides."
    conflict = client.get("/api/test/conflict", HTTP_ACCEPT_LANGUAGE="fr")
    assert message(conflict) == "La requête est en conflit avec l’état actuel de la ressource."
    assert conflict["Content-Language"] == "fr"


def test_a_french_request_does_not_leak_into_the_next_one(client):
    client.get("/api/v1/no-such-route", HTTP_ACCEPT_LANGUAGE="fr")
    assert message(client.get("/api/v1/no-such-route")) == "The requested resource was not found."


def test_every_platform_message_has_a_french_translation():
    lazy_messages = [message for _code, message in errors.STATUS_DEFAULTS.values()]
    lazy_messages += [errors.CLIENT_ERROR[1], errors.SERVER_ERROR[1], errors.Unprocessable.message]
    with translation.override("en"):
        english = [str(m) for m in lazy_messages]
    with translation.override("fr"):
        french = [str(m) for m in lazy_messages]
    assert [en for en, fr in zip(english, french) if en == fr] == []
    assert "La ressource demandée est introuvable." in french


# --- the committed catalogue ---------------------------------------------------------------------
def parse_po(text: str) -> dict[str, str]:
    """Translated, non-fuzzy entries of a .po file (no plurals or contexts), as msgfmt keeps them."""
    catalog: dict[str, str] = {}
    entry: dict[str, str] = {}
    fuzzy = False
    field = None

    def flush():
        nonlocal entry, fuzzy
        if "msgid" in entry and entry.get("msgstr") and not fuzzy:
            catalog[entry["msgid"]] = entry["msgstr"]
        entry, fuzzy = {}, False

    for line in text.splitlines() + [""]:
        line = line.strip()
        if not line:
            flush()
        elif line.startswith("#,"):
            fuzzy = "fuzzy" in line
        elif line.startswith("#"):
            continue
        elif line.startswith(("msgctxt", "msgid_plural", "msgstr[")):
            raise AssertionError(f"parse_po does not handle {line.split()[0]}: extend it")
        elif line.startswith(("msgid ", "msgstr ")):
            if line.startswith("msgid ") and "msgstr" in entry:
                flush()
            field, literal = line.split(" ", 1)
            entry[field] = ast.literal_eval(literal)
        elif line.startswith('"'):
            entry[field] += ast.literal_eval(line)
    return catalog


def test_the_compiled_catalogue_is_not_stale():
    """Recompile (``msgfmt -o django.mo django.po``) when this fails."""
    source = parse_po((LC_MESSAGES / "django.po").read_text(encoding="utf-8"))
    with open(LC_MESSAGES / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog
    assert compiled == source


def test_parse_po_reads_what_msgfmt_reads():
    text = "\n".join([
        "#, fuzzy", 'msgid "a"', 'msgstr "b"', "",
        'msgid ""', '"multi "', '"line"', 'msgstr "x\\"y\\n"', "",
        'msgid "u"', 'msgstr ""',
    ])
    assert parse_po(text) == {"multi line": 'x"y\n'}
