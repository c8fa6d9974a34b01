"""The files vocabulary: one code, one message; ``file_invalid`` reasons carry only the
context keys they declare."""

from __future__ import annotations

import pytest

from coko.domains.files import errors


def test_a_reason_refuses_a_context_key_it_does_not_declare():
    with pytest.raises(TypeError, match="pdf_truncated"):
        errors.file_invalid(errors.PDF_TRUNCATED, entry="OEBPS/x.xhtml")


def test_every_reason_answers_the_same_code_and_message():
    raised = [errors.file_invalid(reason) for reason in errors.reasons().values()]
    assert {(e.status, e.code, str(e.message)) for e in raised} == {(422, "file_invalid", "This file cannot be accepted.")}
    assert [e.details["reason"] for e in raised] == list(errors.reasons())


def test_file_too_large_always_has_the_same_details():
    assert errors.file_too_large(size=10, limit=5).details == {"size": 10, "limit": 5, "kind": None}
    assert errors.file_too_large(size=10, limit=5, kind="pdf").details == {"size": 10, "limit": 5, "kind": "pdf"}
