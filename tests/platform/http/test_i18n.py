"""Messages follow Accept-Language (English, French); the committed .mo matches the .po.

Every catalogue is checked the same way: the platform's (``coko/platform/locale``) and each
domain's that has a ``locale/`` directory (``coko/domains/<d>/locale``, found by Django because
the domain is an installed app). The helpers here are reused by the domains' i18n tests.
"""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.utils import translation

import coko
from coko.platform import errors

COKO = Path(coko.__file__).parent
PLATFORM = COKO / "platform"
LC_MESSAGES = PLATFORM / "locale" / "fr" / "LC_MESSAGES"


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


@pytest.mark.usefixtures("api_urls")
def test_validation_details_speak_the_client_s_language_and_say_where_once(client):
    invalid = client.post("/api/test/items", {"title": 5, "pages": 0}, content_type="application/json",
                          HTTP_ACCEPT_LANGUAGE="fr")
    assert invalid.json()["error"]["details"] == [
        {"loc": ["body", "title"], "msg": "Doit être du texte.", "type": "string_type"},
        {"loc": ["body", "pages"], "msg": "Doit valoir plus de 0.", "type": "greater_than"}]
    english = client.post("/api/test/items", {"pages": 2}, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert english.json()["error"]["details"] == [{"loc": ["body", "title"], "msg": "This field is required.",
                                                   "type": "missing"}]
    choices = client.get("/api/v1/books?sort=cheapest", HTTP_ACCEPT_LANGUAGE="fr").json()["error"]["details"]
    assert choices[0]["msg"] == "Doit être l’une de ces valeurs : 'popularity', 'newest', 'rating', 'title', 'author', 'year'."


@pytest.mark.usefixtures("api_urls")
def test_a_body_that_is_not_json_gets_a_plain_message_without_the_parser_s_internals(client):
    for body, content_type in (("not json {", "application/json"), ("a=1", "application/x-www-form-urlencoded")):
        response = client.post("/api/test/items", body, content_type=content_type, HTTP_ACCEPT_LANGUAGE="fr")
        assert response.status_code == 400
        assert response.json()["error"] == {
            "code": "bad_request", "message": "Le corps de la requête est illisible : envoyez un objet JSON.",
            "details": {"reason": "body_unparsable"}}


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
def parse_po(text: str) -> dict:
    """Translated, non-fuzzy entries of a .po file, as msgfmt keeps them (and ``GNUTranslations``
    reads them): ``msgid -> msgstr``, ``(msgid, n) -> msgstr[n]`` for plural entries, and
    ``"context\x04msgid"`` for an entry with a ``msgctxt``."""
    catalog: dict = {}
    entry: dict[str, str] = {}
    fuzzy = False
    field = None

    def flush():
        nonlocal entry, fuzzy
        plurals = sorted(k for k in entry if k.startswith("msgstr["))
        if "msgctxt" in entry and "msgid" in entry:
            entry["msgid"] = f"{entry.pop('msgctxt')}\x04{entry['msgid']}"
        if "msgid" in entry and plurals and all(entry[k] for k in plurals) and not fuzzy:
            catalog.update({(entry["msgid"], int(k[7:-1])): entry[k] for k in plurals})
        elif "msgid" in entry and entry.get("msgstr") and not fuzzy:
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
        elif line.startswith(("msgctxt ", "msgid ", "msgstr ", "msgid_plural ", "msgstr[")):
            if line.startswith(("msgctxt ", "msgid ")) and any(k.startswith("msgstr") for k in entry):
                flush()
            field, literal = line.split(" ", 1)
            entry[field] = ast.literal_eval(literal)
        elif line.startswith('"'):
            entry[field] += ast.literal_eval(line)
    return catalog


# --- what the code asks to translate ---------------------------------------------------------------
TRANSLATION_MODULE = "django.utils.translation"
SINGULAR = {"gettext", "gettext_lazy", "gettext_noop", "ugettext", "ugettext_lazy", "ugettext_noop"}
PLURAL = {"ngettext", "ngettext_lazy"}  # their msgid is the singular
CONTEXT = {"pgettext", "pgettext_lazy"}  # (context, msgid): "context\x04msgid", as gettext keys it
UNSUPPORTED = {"npgettext", "npgettext_lazy"}


def translatable_strings(source: str, filename: str = "<source>") -> set[str]:
    """The literal msgids a module passes to Django's gettext functions, whatever their alias
    (``_``, ``gettext_lazy``, ``translation.gettext``). Docstrings and comments don't count."""
    tree = ast.parse(source, filename)
    functions: dict[str, str] = {}  # local name -> gettext function
    modules: set[str] = set()       # local names of django.utils.translation
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == TRANSLATION_MODULE:
            functions.update({alias.asname or alias.name: alias.name for alias in node.names})
        elif isinstance(node, ast.ImportFrom) and node.module == "django.utils":
            modules.update(alias.asname or alias.name for alias in node.names if alias.name == "translation")
        elif isinstance(node, ast.Import):
            modules.update(alias.asname for alias in node.names if alias.name == TRANSLATION_MODULE and alias.asname)
    found: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name):
            function = functions.get(node.func.id)
        elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) \
                and node.func.value.id in modules:
            function = node.func.attr
        else:
            function = None
        where = f"{filename}:{node.lineno}"
        if function in UNSUPPORTED:
            raise AssertionError(f"{where}: {function} needs plural-with-context support in parse_po: extend it")
        if function in CONTEXT:
            context, msgid = (node.args + [None, None])[:2]
            if not all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in (context, msgid)):
                raise AssertionError(f"{where}: {function}() of a non-literal cannot be extracted into a catalogue")
            found.add(f"{context.value}\x04{msgid.value}")
            continue
        if function not in SINGULAR | PLURAL:
            continue
        if not (node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            raise AssertionError(f"{where}: {function}() of a non-literal cannot be extracted into a catalogue")
        found.add(node.args[0].value)
    return found


_TRANSLATE_TAG = re.compile(r"""{%\s*(?:translate|trans)\s+(["'])(.*?)\1""")
_BLOCK_TAG = re.compile(r"{%\s*blocktrans(?:late)?\s*%}(.*?){%\s*endblocktrans(?:late)?\s*%}", re.S)


def template_strings(source: str) -> set[str]:
    """The msgids of a Django template: ``{% translate "…" %}`` and ``{% blocktranslate %}``
    blocks (whose ``{{ name }}`` become ``%(name)s``, as ``makemessages`` writes them)."""
    found = {m.group(2) for m in _TRANSLATE_TAG.finditer(source)}
    for block in _BLOCK_TAG.finditer(source):
        found.add(re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", block.group(1)))
    return found


def package_strings(package: Path) -> dict[str, list[str]]:
    """msgid -> the files (relative to ``coko/``) that use it, for every module and template
    under ``package``."""
    found: dict[str, list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(COKO.parent).as_posix()
        for msgid in translatable_strings(path.read_text(encoding="utf-8"), name):
            found.setdefault(msgid, []).append(name)
    for path in sorted(package.rglob("templates/**/*.html")):
        name = path.relative_to(COKO.parent).as_posix()
        for msgid in template_strings(path.read_text(encoding="utf-8")):
            found.setdefault(msgid, []).append(name)
    return found


def catalogue_packages() -> list[Path]:
    """The packages that own a French catalogue: the platform, and each domain with ``locale/``."""
    domains = sorted(d for d in (COKO / "domains").iterdir() if (d / "locale").is_dir())
    return [PLATFORM, *domains]


def po_of(package: Path) -> Path:
    return package / "locale" / "fr" / "LC_MESSAGES" / "django.po"


def untranslated(package: Path) -> dict[str, list[str]]:
    """The package's messages its own French catalogue lacks (msgid -> where it is used)."""
    catalog = parse_po(po_of(package).read_text(encoding="utf-8"))
    return {msgid: where for msgid, where in package_strings(package).items()
            if msgid not in catalog and (msgid, 0) not in catalog}


def unused(package: Path) -> list[str]:
    """Catalogue entries no module of the package asks for any more (delete them)."""
    catalog = parse_po(po_of(package).read_text(encoding="utf-8"))
    msgids = {key[0] if isinstance(key, tuple) else key for key in catalog}
    return sorted(msgids - set(package_strings(package)) - {""})


def not_served(package: Path) -> dict[str, tuple[str, str]]:
    """Entries Django does not answer with at run time (catalogue not found, or shadowed by
    another one): msgid -> (expected, what ``gettext`` gives in French)."""
    catalog = parse_po(po_of(package).read_text(encoding="utf-8"))
    def serve(key):
        if isinstance(key, str) and "\x04" in key:
            return translation.pgettext(*key.split("\x04", 1))
        if isinstance(key, tuple):  # French: form 0 for n <= 1, form 1 above
            return translation.ngettext(key[0], key[0], 1 if key[1] == 0 else 2)
        return translation.gettext(key)

    with translation.override("fr"):
        served = {msgid: serve(msgid) for msgid in catalog if msgid}
    return {msgid: (catalog[msgid], served[msgid]) for msgid in served if served[msgid] != catalog[msgid]}


def compiled_and_source(package: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The committed .mo's catalogue and what msgfmt would compile from the .po."""
    source = parse_po(po_of(package).read_text(encoding="utf-8"))
    with open(po_of(package).with_suffix(".mo"), "rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog
    # The header ("" entry) is metadata msgfmt rewrites (it drops POT-Creation-Date …).
    compiled.pop("", None)
    source.pop("", None)
    return compiled, source


CATALOGUES = pytest.mark.parametrize(
    "package", catalogue_packages(), ids=lambda p: p.relative_to(COKO).as_posix())


@CATALOGUES
def test_one_apostrophe_per_language(package):
    """Typography: French messages use the typographic apostrophe (’), English messages the
    plain one ('), never a mix within a language."""
    catalog = parse_po(po_of(package).read_text(encoding="utf-8"))
    catalog.pop("", None)
    assert [text for text in catalog.values() if "'" in text] == []
    assert [key for key in catalog if "’" in (key[0] if isinstance(key, tuple) else key)] == []


@CATALOGUES
def test_every_message_has_a_french_translation(package):
    """Add the missing msgids to the package's django.po (then recompile) when this fails."""
    assert untranslated(package) == {}


@CATALOGUES
def test_the_catalogue_has_no_leftover_entries(package):
    assert unused(package) == []


@CATALOGUES
def test_django_serves_the_catalogue_s_translations(package):
    assert not_served(package) == {}


@CATALOGUES
def test_the_compiled_catalogue_is_not_stale(package):
    """Recompile (``msgfmt -o django.mo django.po`` in LC_MESSAGES) when this fails."""
    compiled, source = compiled_and_source(package)
    assert compiled == source


def test_the_platform_and_the_accounts_domain_have_catalogues():
    assert {PLATFORM, COKO / "domains" / "accounts"} <= set(catalogue_packages())


def test_translatable_strings_finds_every_alias_and_only_calls():
    source = "\n".join([
        '"""Not this: _("In a docstring.")"""',
        "from django.utils.translation import gettext_lazy as _, gettext",
        "from django.utils import translation",
        'A = _("Lazy " "joined.")',
        'B = gettext("Eager.")',
        'C = translation.gettext_lazy("Through the module.")',
        'D = print("Not a translation.")',
        '# E = _("In a comment.")',
    ])
    assert translatable_strings(source) == {"Lazy joined.", "Eager.", "Through the module."}
    with pytest.raises(AssertionError, match="non-literal"):
        translatable_strings("from django.utils.translation import gettext as _\n_(name)")
    assert translatable_strings("from django.utils.translation import ngettext\nngettext('a', 'b', 2)") == {"a"}
    assert translatable_strings("from django.utils.translation import pgettext\npgettext('c', 'a')") == {"c\x04a"}
    with pytest.raises(AssertionError, match="plural-with-context"):
        translatable_strings("from django.utils.translation import npgettext\nnpgettext('c', 'a', 'b', 2)")


def test_template_strings_finds_translate_tags_and_blocks():
    source = """{% load i18n %}{% translate "Not found" %} {% trans 'Home' %} {{ x }}
    {% blocktranslate %}Version {{ version }}{% endblocktranslate %} {% translate title %}"""
    assert template_strings(source) == {"Not found", "Home", "Version %(version)s"}


def test_parse_po_reads_what_msgfmt_reads():
    text = "\n".join([
        "#, fuzzy", 'msgid "a"', 'msgstr "b"', "",
        'msgid ""', '"multi "', '"line"', 'msgstr "x\\"y\\n"', "",
        'msgid "u"', 'msgstr ""', "",
        'msgid "{n} book"', 'msgid_plural "{n} books"', 'msgstr[0] "{n} livre"', 'msgstr[1] "{n} livres"', "",
        'msgctxt "opds"', 'msgid "All"', 'msgstr "Tous"',
    ])
    assert parse_po(text) == {"multi line": 'x"y\n', ("{n} book", 0): "{n} livre", ("{n} book", 1): "{n} livres",
                              "opds\x04All": "Tous"}
