"""The files domain owns its French catalogue (coko/domains/files/locale), and a refused file
is explained in the request's language (the code and the details never change)."""

from __future__ import annotations

import pytest

from tests.platform.http.test_i18n import (
    COKO,
    catalogue_packages,
    compiled_and_source,
    not_served,
    package_strings,
    untranslated,
    unused,
)

from .conftest import send

FILES = COKO / "domains" / "files"


def test_the_files_catalogue_is_one_django_finds():
    assert FILES in catalogue_packages()
    assert not_served(FILES) == {}


def test_every_files_message_has_a_french_translation():
    """Add the missing msgids to coko/domains/files/locale/fr/LC_MESSAGES/django.po."""
    assert "This EPUB holds a file with an unsafe path." in package_strings(FILES)
    assert untranslated(FILES) == {}
    assert unused(FILES) == []


def test_the_compiled_files_catalogue_is_not_stale():
    """Recompile (``msgfmt -o django.mo django.po`` in LC_MESSAGES) when this fails."""
    compiled, source = compiled_and_source(FILES)
    assert compiled == source


@pytest.mark.django_db(transaction=True, databases="__all__")
@pytest.mark.parametrize(("language", "message", "explanation"), [
    ("fr-SN,fr;q=0.9", "Ce fichier ne peut pas être accepté.",
     "Ce PDF est tronqué : il n’a pas de marqueur de fin de fichier."),
    ("en", "This file cannot be accepted.", "This PDF is truncated: it has no end-of-file marker."),
])
def test_a_refused_file_is_explained_in_the_client_s_language(author, language, message, explanation):
    author.client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    response = send(author, "/files/uploads", b"%PDF-1.7\n1 0 obj\n<<>>\n", name="book.pdf")
    assert response.status_code == 422
    assert response.data["error"]["code"] == "file_invalid"
    assert response.data["error"]["message"] == message  # one code, one message
    assert response.data["error"]["details"] == {"reason": "pdf_truncated", "explanation": explanation}


def test_every_file_invalid_reason_is_explained_in_both_languages():
    from django.utils import translation

    from coko.domains.files import errors

    for reason in errors.reasons().values():
        with translation.override("en"):
            english = str(reason.explanation)
        with translation.override("fr"):
            french = str(reason.explanation)
        assert english != french, reason.reason
