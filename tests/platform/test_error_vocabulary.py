"""Each domain declares its error codes once (``coko/domains/<d>/errors.py``): one code, one
message in English and French, one shape of details, and no literal code raised elsewhere."""

from __future__ import annotations

import ast
import importlib
from collections import defaultdict
from pathlib import Path

import pytest
from django.utils import translation

import coko.domains
from coko.platform import errors

DOMAINS = Path(coko.domains.__file__).parent


def error_modules() -> list[str]:
    """Import every ``coko.domains.<d>.errors`` there is (and the platform's shared codes);
    the domains that have one."""
    importlib.import_module("coko.platform.auth.errors")
    found = []
    for domain in sorted(p.name for p in DOMAINS.iterdir() if (p / "errors.py").is_file()):
        importlib.import_module(f"coko.domains.{domain}.errors")
        found.append(domain)
    return found


def declared_codes() -> list[errors.ErrorCode]:
    error_modules()
    return [code for codes in errors.vocabulary().values() for code in codes]


def rendered(message, language: str) -> str:
    with translation.override(language):
        return str(message)


def test_the_accounts_domain_declares_its_codes():
    assert "accounts" in error_modules()
    codes = {code.code for code in errors.vocabulary()["accounts"]}
    assert {"invalid_credentials", "invalid_code", "social_token_invalid", "user_not_found"} <= codes
    assert "account_exists" not in codes  # sign-up does not tell a taken address apart (issue 10)


def test_every_declared_code_has_a_french_message():
    """Add the message to the domain's locale/fr/LC_MESSAGES/django.po (and recompile) when this fails."""
    untranslated = [f"{code.domain}.{code.code}: {rendered(code.message, 'en')!r}" for code in declared_codes()
                    if rendered(code.message, "fr") == rendered(code.message, "en")]
    assert untranslated == []


def test_a_code_has_one_message_and_one_shape_of_details_in_every_domain():
    by_code: dict[str, list[errors.ErrorCode]] = defaultdict(list)
    for code in declared_codes():
        by_code[code.code].append(code)
    disagreements = {}
    for name, codes in by_code.items():
        shapes = {code.domain: (rendered(code.message, "en"), code.details, code.status or code.kind.status)
                  for code in codes}
        if len(set(shapes.values())) > 1:
            disagreements[name] = shapes
    assert disagreements == {}


def test_a_domain_declares_a_code_once():
    twice = []
    for domain, codes in errors.vocabulary().items():
        names = [code.code for code in codes]
        twice += [f"{domain}.{name}" for name in set(names) if names.count(name) > 1]
    assert twice == []


def test_a_code_recognises_its_own_error_and_refuses_a_retry_after_it_cannot_send():
    from coko.domains.accounts import errors as accounts_errors

    raised = accounts_errors.INVALID_CODE(field="code")
    assert accounts_errors.INVALID_CODE.matches(raised)
    assert not accounts_errors.INVALID_CREDENTIALS.matches(raised)
    assert not accounts_errors.INVALID_CODE.matches(ValueError("invalid_code"))
    with pytest.raises(TypeError, match="retry_after"):
        accounts_errors.INVALID_CODE(field="code", retry_after=30)


def test_a_raised_code_checks_its_details():
    from coko.domains.accounts import errors as accounts_errors

    raised = accounts_errors.INVALID_CODE(field="code")
    assert (raised.status, raised.code, raised.details) == (422, "invalid_code", {"field": "code"})
    with pytest.raises(TypeError):
        accounts_errors.INVALID_CODE(code="000000")


# --- no literal codes in the domains ---------------------------------------------------------------
def error_class_names() -> set[str]:
    """Names of ``DomainError`` and every subclass: the platform's, the imported domains', and
    any class under coko/domains that derives (by name) from one of those."""
    error_modules()
    names: set[str] = set()
    pending = [errors.DomainError]
    while pending:
        cls = pending.pop()
        names.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in DOMAINS.rglob("*.py")]
    grew = True
    while grew:
        grew = False
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names and any(
                        (base.id if isinstance(base, ast.Name) else getattr(base, "attr", None)) in names
                        for base in node.bases):
                    names.add(node.name)
                    grew = True
    return names


def literal_code_constructions(source: str, class_names: set[str], filename: str = "<source>") -> list[str]:
    """Where ``source`` builds an error with a string-literal code: ``NotFound("x", ...)``,
    ``errors.Conflict(code="x")``."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name not in class_names:
            continue
        code = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "code"), None)
        if isinstance(code, ast.Constant) and isinstance(code.value, str):
            found.append(f"{filename}:{node.lineno}: {name}({code.value!r}, ...)")
    return found


def literal_codes_under(package: Path) -> list[str]:
    names = error_class_names()
    found = []
    for path in sorted(package.rglob("*.py")):
        name = path.relative_to(DOMAINS.parent.parent).as_posix()
        found += literal_code_constructions(path.read_text(encoding="utf-8"), names, name)
    return found


def test_the_scan_finds_a_literal_code():
    names = error_class_names()
    source = ("from coko.platform.errors import NotFound\n"
              "from coko.platform import errors\n"
              "raise NotFound('book_not_found', 'No book.')\n"
              "raise errors.Conflict(code='taken')\n"
              "raise NotFound()\n")
    assert [line.split(": ", 1)[1] for line in literal_code_constructions(source, names)] == [
        "NotFound('book_not_found', ...)", "Conflict('taken', ...)"]


def test_accounts_raises_only_declared_codes():
    assert literal_codes_under(DOMAINS / "accounts") == []


def test_no_domain_raises_a_literal_code():
    """Declare the code in the domain's errors.py and raise ``errors.THE_CODE(**details)``."""
    assert literal_codes_under(DOMAINS) == []


def test_errors_catalog_lists_every_code_with_its_shape():
    """``manage.py errors_catalog``: what a new domain reads before declaring a code."""
    import json

    from coko.devtools.testing.manage import manage

    text = manage("errors_catalog")
    assert text.returncode == 0, text.stderr
    assert "book_not_found  404  catalog  'There is no such book.'  details: book_id" in text.stdout
    assert "permission_denied  403  platform" in text.stdout
    rows = json.loads(manage("errors_catalog", "--format", "json").stdout)
    assert {"code": "invalid_code", "domain": "accounts", "status": 422, "kind": "Unprocessable",
            "message": "This code is not valid or has expired.",
            "message_fr": rendered(accounts_invalid_code().message, "fr"), "details": ["field"]} in rows
    assert len(rows) == len(declared_codes())


def accounts_invalid_code():
    from coko.domains.accounts import errors as accounts_errors

    return accounts_errors.INVALID_CODE
