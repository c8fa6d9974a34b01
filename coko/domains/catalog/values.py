"""Pure value rules of the catalogue: ISBNs, ISO 639 languages, access models and prices, names.

No models, no queries: services, selectors, the importers and the OPDS feeds all use these.
Imports only ``catalog.contracts`` and ``catalog.errors`` of this domain.
"""

from __future__ import annotations

import re

from django.conf import settings

from coko.platform import money

from . import contracts, errors

EUR_XOF = money.EUR_XOF  # XOF per euro: the fixed parity of the CFA franc

_ISO639_2_TO_1 = {
    "eng": "en", "fre": "fr", "fra": "fr", "wol": "wo", "swa": "sw", "swh": "sw", "ara": "ar", "por": "pt",
    "spa": "es", "ger": "de", "deu": "de", "ita": "it", "dut": "nl", "nld": "nl", "hau": "ha", "yor": "yo",
    "ibo": "ig", "amh": "am", "zul": "zu", "xho": "xh", "lin": "ln", "bam": "bm", "ful": "ff", "kin": "rw",
    "som": "so", "mlg": "mg", "rus": "ru", "chi": "zh", "zho": "zh", "jpn": "ja", "tur": "tr", "pol": "pl",
    "swe": "sv", "nor": "no", "dan": "da", "fin": "fi", "gre": "el", "ell": "el", "heb": "he", "hin": "hi",
    "per": "fa", "fas": "fa", "ind": "id", "vie": "vi", "kor": "ko", "afr": "af", "tir": "ti", "orm": "om",
    "sna": "sn", "nya": "ny", "sot": "st", "tsn": "tn", "lug": "lg", "kik": "ki", "aka": "ak", "ewe": "ee",
    "lat": "la", "cat": "ca", "ron": "ro", "rum": "ro", "ces": "cs", "cze": "cs", "hun": "hu", "ukr": "uk",
}
_LANGUAGE = re.compile(r"[a-z]{2,3}")
#: Names of the languages above that Django's own table (``LANG_INFO``) does not know.
_LANGUAGE_NAMES = {
    "wo": "Wolof", "ha": "Hausa", "yo": "Yorùbá", "am": "አማርኛ (Amharic)", "zu": "isiZulu", "xh": "isiXhosa",
    "ln": "Lingála", "bm": "Bamanankan", "ff": "Fulfulde", "rw": "Ikinyarwanda", "so": "Soomaali",
    "mg": "Malagasy", "ti": "ትግርኛ (Tigrinya)", "om": "Afaan Oromoo", "sn": "chiShona", "ny": "Chichewa",
    "st": "Sesotho", "tn": "Setswana", "lg": "Luganda", "ki": "Gĩkũyũ", "ak": "Akan", "ee": "Eʋegbe",
    "la": "Latina", "zh": "中文 (Chinese)",
}


def language_choices(*, also=()) -> list[tuple[str, str]]:
    """``(code, "code — name")`` of every language the catalogue knows by name, and of ``also``
    (codes in use), sorted by code: the console's list for a book's language."""
    from django.conf.locale import LANG_INFO

    names = {code: info["name_local"] for code, info in LANG_INFO.items()
             if _LANGUAGE.fullmatch(code) and "name_local" in info}
    names.update(_LANGUAGE_NAMES)
    return [(code, f"{code} — {names[code]}" if code in names else code)
            for code in sorted(set(names) | set(_ISO639_2_TO_1.values()) | set(also))]


def language_name(code: str) -> str:
    """A language's own name ("Français", "Wolof", "Yorùbá"), capitalised; the code if unknown."""
    from django.conf.locale import LANG_INFO

    name = _LANGUAGE_NAMES.get(code) or LANG_INFO.get(code, {}).get("name_local") or code
    return name[:1].upper() + name[1:]


def language_normalise(value: str) -> str:
    """An ISO 639 code from what a user or a file wrote ("fr", "fr-SN", "fre", "FRA", "en_US")."""
    code = (value or "").strip().lower().replace("_", "-").split("-")[0]
    code = _ISO639_2_TO_1.get(code, code)
    if not _LANGUAGE.fullmatch(code):
        raise errors.INVALID_LANGUAGE(field="language", value=value)
    return code


def _isbn13_check(first12: str) -> int:
    return (10 - sum((3 if i % 2 else 1) * int(c) for i, c in enumerate(first12)) % 10) % 10


def isbn_normalise(value: str) -> str:
    """The ISBN-13 of an ISBN-10 or ISBN-13 (hyphens and spaces allowed); checksums verified."""
    digits = re.sub(r"[\s-]", "", value or "").upper()
    if re.fullmatch(r"\d{9}[\dX]", digits):
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(digits))
        if total % 11:
            raise errors.INVALID_ISBN(isbn=value)
        digits = "978" + digits[:9]
        return digits + str(_isbn13_check(digits))
    if re.fullmatch(r"97[89]\d{10}", digits):
        if _isbn13_check(digits[:12]) != int(digits[12]):
            raise errors.INVALID_ISBN(isbn=value)
        return digits
    raise errors.INVALID_ISBN(isbn=value)


def price_in_xof(*, amount: int, currency: str) -> int:
    """The XOF value of a price, for price filters: EUR at the fixed parity (655.957), USD at
    ``COKO_CATALOG['USD_XOF']``. Amounts are integer minor units (XOF has none)."""
    return money.in_xof(amount=amount, currency=currency, usd_xof=settings.COKO_CATALOG["USD_XOF"])


def access_check(*, access_model: str, amount: int | None, currency: str | None) -> None:
    """A book for sale has a positive price in a known currency; any other book has none."""
    if access_model not in contracts.ACCESS_MODELS:
        raise errors.INVALID_ACCESS_MODEL(access_model=access_model)
    if access_model == "sale":
        if currency not in contracts.CURRENCIES or amount is None or amount <= 0:
            raise errors.INVALID_PRICE(access_model=access_model, price_amount=amount, price_currency=currency)
    elif amount is not None or currency is not None:
        raise errors.INVALID_PRICE(access_model=access_model, price_amount=amount, price_currency=currency)


def clean_name(name: str | None) -> str:
    """A person's or a publisher's name: spaces collapsed, at most 200 characters."""
    return " ".join((name or "").split())[:200]


def sort_name(name: str) -> str:
    """``"Mariama Bâ"`` -> ``"Bâ, Mariama"`` (one-word names as they are)."""
    parts = name.split()
    return f"{parts[-1]}, {' '.join(parts[:-1])}".strip(", ") if len(parts) > 1 else name
