"""Pure rules of the files domain (no models, no services)."""

from __future__ import annotations

import re
import unicodedata

_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')
_SPACES = re.compile(r"\s+")
NAME_MAX = 150  # characters before the extension: every filesystem and e-reader takes it


def download_filename(*, title: str, authors: tuple[str, ...], book_id: str, extension: str) -> str:
    """``Author - Title.epub``, as readers' shelves and e-readers name books: the first author
    (``A & B`` for two, ``A et al.`` for more), the title, characters no filesystem refuses;
    the book's id when it has no title."""
    def clean(text: str) -> str:
        text = unicodedata.normalize("NFC", text)
        return _SPACES.sub(" ", _UNSAFE.sub(" ", text)).strip(" .")

    names = [clean(a) for a in authors if clean(a)]
    who = names[0] if len(names) == 1 else f"{names[0]} & {names[1]}" if len(names) == 2 else (
        f"{names[0]} et al." if names else "")
    what = clean(title)
    stem = " - ".join(part for part in (who, what) if part) or str(book_id)
    if len(stem) > NAME_MAX:
        stem = stem[:NAME_MAX].rstrip(" .-")
    return f"{stem}.{extension}"


__all__ = ["download_filename"]
