"""Validators for what the project serves, built from the unmodified schema copies beside this
file (see README.md): OPDS 1.2 (RELAX NG, through rnc2rng and lxml) and OPDS 2.0 (JSON Schema
draft 7, through jsonschema with an offline ``referencing`` registry).

Each ``*_errors`` function returns a list of readable errors: empty means valid.

OPDS 1.2. ``opds.rnc`` includes Atom's grammar (``atom.rnc``, RFC 4287 appendix B) and
overrides four of its patterns. rnc2rng 2.7.0 cannot be used on it as it stands: it reads no
datatype exceptions (``string - (…)``) nor typed values (``string "…"``), and it inlines an
included grammar *without* the overrides of the include block. So each file is converted on
its own and the grammar is put back together in RELAX NG XML, losing nothing:

* the three definitions rnc2rng cannot read are written in RNG XML from the values read in
  ``opds.rnc`` (exceptions and typed values included);
* the overrides go inside an ``<include href="atom.rng">``, as the compact syntax means;
* one known defect of the grammar is corrected: its ``atomUri`` pattern
  ``[ <>{}|^`"\\nrt]`` lost two backslashes and refuses every URI containing an "r" or a "t"
  (opds-community/specs issue #3 — ``\\nrt`` should read ``\\n\\r\\t``);
* the Schematron rules Atom's grammar carries as annotations (RELAX NG ignores them) are run
  as the XPath assertions they are.

OPDS 2.0. The OPDS schemas name themselves ``https://specs.opds.io/schema/…`` while Readium's
link schema refers to ``https://drafts.opds.io/schema/properties.schema.json``: both names are
registered. Readium's language patterns use ECMA-262 named groups (``(?<name>…)``), spelled
``(?P<name>…)`` for Python's ``re`` (the same language). Formats are checked, with small
checkers for ``uri``, ``uri-reference`` and ``uri-template`` (no extra package needed).
"""

from __future__ import annotations

import json
import re
import tempfile
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import rnc2rng
from jsonschema import Draft7Validator, FormatChecker
from lxml import etree
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

HERE = Path(__file__).parent
OPDS1 = HERE / "opds" / "1.2"
OPDS2 = HERE / "opds"
READIUM = HERE / "readium-webpub" / "schema"

RNG = "http://relaxng.org/ns/structure/1.0"
SCHEMATRON = "http://www.ascc.net/xml/schematron"
ATOM = "http://www.w3.org/2005/Atom"


# --- OPDS 1.2 ----------------------------------------------------------------------------------
def _scan_top_level(text: str) -> list[tuple[int, str]]:
    """Each character offset of ``text`` with its nesting depth (strings and comments skipped)."""
    depth, i, out = 0, 0, []
    while i < len(text):
        c = text[i]
        if c == "#":
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
            continue
        if c in "\"'":
            end = text.find(c, i + 1)
            i = end + 1
            continue
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        out.append((i, depth))
        i += 1
    return out


def _split_include(source: str) -> tuple[str, str, str]:
    """(``opds.rnc`` without its include, the include block's body, the included file name)."""
    match = re.search(r'include\s+"([^"]+)"\s*\{', source)
    start = match.end()
    depth = 1
    for offset, level in _scan_top_level(source[start:]):
        if level < 0:  # the brace that closes the block
            end = start + offset
            break
    else:
        raise ValueError("unbalanced include block")
    return source[:match.start()] + source[end + 1:], source[start:end], match.group(1)


def _defined_names(body: str) -> list[str]:
    names = []
    for line in body.splitlines():
        found = re.match(r"\s*([A-Za-z_][\w.-]*)\s*=(?!=)", line)
        if found and not line.strip().startswith("#"):
            names.append(found.group(1))
    return names


def _element(tag: str, attrib: dict | None = None, *children, text: str | None = None):
    element = etree.Element(f"{{{RNG}}}{tag}", attrib or {})
    element.extend(children)
    element.text = text
    return element


def _string_values(values: list[str]):
    return _element("choice", {}, *[_element("value", {"type": "string", "datatypeLibrary": ""}, text=v)
                                    for v in values])


def _opds_patched(source: str) -> tuple[str, dict]:
    """``source`` with the definitions rnc2rng cannot read replaced by placeholders, and the
    RNG XML each placeholder stands for."""
    replacements = {}

    found = re.search(r"atomUriExceptOPDS\s*=\s*string\s*-\s*\((.*?)\)", source, re.S)
    values = re.findall(r'string\s+"([^"]*)"', found.group(1))
    replacements["atomUriExceptOPDS"] = _element(
        "data", {"type": "string", "datatypeLibrary": ""}, _element("except", {}, _string_values(values)))
    source = source.replace(found.group(0), "atomUriExceptOPDS = text")

    found = re.search(r'OPDSUrisExceptBuy\s*=((?:\s*\|?\s*string\s+"[^"]*")+)', source)
    replacements["OPDSUrisExceptBuy"] = _string_values(re.findall(r'"([^"]*)"', found.group(1)))
    source = source.replace(found.group(0), "OPDSUrisExceptBuy = text")

    found = re.search(r"atomUri\s*=\s*xsd:anyURI\s*-\s*xsd:string\s*\{\s*pattern\s*=\s*'([^']*)'\s*\}", source)
    pattern = found.group(1).replace("\\nrt]", "\\n\\r\\t]")  # opds-community/specs issue #3
    replacements["atomUri"] = _element(
        "data", {"type": "anyURI"},
        _element("except", {}, _element("data", {"type": "string"}, _element("param", {"name": "pattern"},
                                                                             text=pattern))))
    source = source.replace(found.group(0), "atomUri = text")
    return source, replacements


def _rnc_to_rng(source: str, directory: Path, name: str):
    path = directory / name
    path.write_text(source, encoding="utf-8")
    rng = rnc2rng.dumps(rnc2rng.load(str(path)))
    rng = re.sub(r'\s+xmlns:local=(""|\'\')', "", rng)  # an empty prefix binding is not XML
    return etree.fromstring(rng.encode())


@lru_cache(maxsize=1)
def _opds1() -> tuple[etree.RelaxNG, list[tuple[str, str, str]]]:
    with tempfile.TemporaryDirectory(prefix="opds-rng-") as tmp:
        return _opds1_build(Path(tmp))


def _opds1_build(work: Path) -> tuple[etree.RelaxNG, list[tuple[str, str, str]]]:
    outside, overrides, included = _split_include((OPDS1 / "opds.rnc").read_text(encoding="utf-8"))
    atom = _rnc_to_rng((OPDS1 / included).read_text(encoding="utf-8"), work, "atom-source.rnc")
    (work / "atom.rng").write_bytes(etree.tostring(atom))

    source, replacements = _opds_patched(outside + "\n" + overrides)
    # the prefixes the overrides use are declared in atom.rnc; rnc2rng wants them here too
    header = ('namespace xhtml = "http://www.w3.org/1999/xhtml"\n'
              'datatypes xsd = "http://www.w3.org/2001/XMLSchema-datatypes"\n')
    grammar = _rnc_to_rng(header + source, work, "opds-source.rnc")
    defines = {d.get("name"): d for d in grammar.iter(f"{{{RNG}}}define")}
    for name, pattern in replacements.items():
        defines[name][:] = [pattern]
    include = _element("include", {"href": "atom.rng"})
    for name in _defined_names(overrides):
        include.append(defines[name])  # moves it
    grammar.append(include)
    (work / "opds.rng").write_bytes(etree.tostring(grammar))

    rules = [(rule.get("context"), check.get("test"), (check.text or "").strip())
             for rule in atom.iter(f"{{{SCHEMATRON}}}rule") for check in rule.iter(f"{{{SCHEMATRON}}}assert")]
    return etree.RelaxNG(etree.parse(str(work / "opds.rng"))), rules  # includes are read here


def opds1_errors(document: bytes) -> list[str]:
    """OPDS 1.2 grammar (and Atom's Schematron rules) violations of a feed or entry document."""
    schema, rules = _opds1()
    try:
        root = etree.fromstring(document)
    except etree.XMLSyntaxError as exc:
        return [f"not XML: {exc}"]
    errors = [] if schema.validate(root) else [f"line {e.line}: {e.message}" for e in schema.error_log]
    for context, test, message in rules:
        for node in root.xpath(f"descendant-or-self::{context}", namespaces={"atom": ATOM}):
            if not node.xpath(f"boolean({test})", namespaces={"atom": ATOM}):
                errors.append(f"line {node.sourceline}: {message}")
    return errors


# --- OPDS 2.0 ----------------------------------------------------------------------------------
FEED = "https://specs.opds.io/schema/feed.schema.json"
PUBLICATION = "https://specs.opds.io/schema/publication.schema.json"

_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")


def _python_patterns(node):
    if isinstance(node, dict):
        return {k: (_NAMED_GROUP.sub("(?P<", v) if k == "pattern" and isinstance(v, str) else _python_patterns(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_python_patterns(v) for v in node]
    return node


@lru_cache(maxsize=1)
def _registry() -> Registry:
    resources = []
    for path in sorted([*OPDS2.glob("*.json"), *READIUM.rglob("*.json")]):
        resource = Resource.from_contents(_python_patterns(json.loads(path.read_text(encoding="utf-8"))),
                                          default_specification=DRAFT7)
        resources.append((resource.id(), resource))
        if resource.id().startswith("https://specs.opds.io/"):
            resources.append((resource.id().replace("https://specs.opds.io/", "https://drafts.opds.io/"), resource))
    return Registry().with_resources(resources)


_URI_CHARS = re.compile(r"^[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*$")
_TEMPLATE = re.compile(r"^(?:[^{}\s]|\{[+#./;?&]?[A-Za-z0-9_%.]+(?:\*|:\d+)?(?:,[A-Za-z0-9_%.]+(?:\*|:\d+)?)*\})*$")


def _format_checker() -> FormatChecker:
    checker = FormatChecker()

    @checker.checks("uri-reference")
    def _uri_reference(value) -> bool:
        return not isinstance(value, str) or bool(_URI_CHARS.match(value))

    @checker.checks("uri")
    def _uri(value) -> bool:
        return not isinstance(value, str) or (bool(_URI_CHARS.match(value)) and bool(urlsplit(value).scheme))

    @checker.checks("uri-template")
    def _uri_template(value) -> bool:
        return not isinstance(value, str) or bool(_TEMPLATE.match(value))

    return checker


def _errors(document, schema_id: str) -> list[str]:
    registry = _registry()
    validator = Draft7Validator(registry.contents(schema_id), registry=registry, format_checker=_format_checker())
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(document)]


def opds2_feed_errors(document) -> list[str]:
    return _errors(document, FEED)


def opds2_publication_errors(document) -> list[str]:
    return _errors(document, PUBLICATION)
