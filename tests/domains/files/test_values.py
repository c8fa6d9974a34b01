"""A downloaded book is named as readers' shelves and e-readers name books."""

from __future__ import annotations

import pytest

from coko.domains.files.values import NAME_MAX, download_filename


@pytest.mark.parametrize(("title", "authors", "expected"), [
    ("Une si longue lettre", ("Mariama Bâ",), "Mariama Bâ - Une si longue lettre.epub"),
    ("Petals of Blood", ("Ngũgĩ wa Thiong'o", "Another"), "Ngũgĩ wa Thiong'o & Another - Petals of Blood.epub"),
    ("Anthologie", ("A", "B", "C"), "A et al. - Anthologie.epub"),
    ("Sans auteur", (), "Sans auteur.epub"),
    ("", (), "b00c.epub"),
    ("Chants/d'ombre: poèmes?", ("Léopold Sédar Senghor",), "Léopold Sédar Senghor - Chants d'ombre poèmes.epub"),
    ("..\\..\\etc\\passwd", ("\x00evil\n",), "evil - etc passwd.epub"),
])
def test_author_dash_title_with_nothing_a_filesystem_refuses(title, authors, expected):
    assert download_filename(title=title, authors=authors, book_id="b00c", extension="epub") == expected


def test_a_long_title_is_cut_before_the_extension():
    name = download_filename(title="T" * 400, authors=("Awa",), book_id="b", extension="pdf")
    assert name.endswith(".pdf") and len(name) == NAME_MAX + len(".pdf")
