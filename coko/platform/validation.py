"""Validation messages in the client's language, one per kind of mistake.

pydantic explains a refused field in English ("Input should be a valid integer …"). The
API's ``validation_error`` details say the same in the request's language instead: each
pydantic error *type* has one message here (English and French, through the platform's
catalogue), filled with the error's context (``min_length``, ``ge`` …). A type not listed
keeps pydantic's English text, or a generic "Invalid value." in another language.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

_REQUIRED = _("This field is required.")
_WHOLE = _("Must be a whole number.")
_NUMBER = _("Must be a number.")
_BOOL = _("Must be true or false.")
_DATE = _("Must be a date (YYYY-MM-DD).")
_DATETIME = _("Must be a date and time (ISO 8601).")
_OBJECT = _("Must be an object.")
_URL = _("Must be a URL.")
_CHOICE = _("Must be one of: %(expected)s.")

MESSAGES: dict[str, Any] = {
    "missing": _REQUIRED,
    "string_type": _("Must be text."),
    "string_too_short": _("Must have at least %(min_length)s characters."),
    "string_too_long": _("Must have at most %(max_length)s characters."),
    "string_pattern_mismatch": _("Does not have the expected format."),
    "int_type": _WHOLE, "int_parsing": _WHOLE, "int_from_float": _WHOLE,
    "float_type": _NUMBER, "float_parsing": _NUMBER, "decimal_parsing": _NUMBER, "decimal_type": _NUMBER,
    "bool_type": _BOOL, "bool_parsing": _BOOL,
    "greater_than_equal": _("Must be %(ge)s or more."),
    "greater_than": _("Must be more than %(gt)s."),
    "less_than_equal": _("Must be %(le)s or less."),
    "less_than": _("Must be less than %(lt)s."),
    "too_short": _("Must have at least %(min_length)s items."),
    "too_long": _("Must have at most %(max_length)s items."),
    "literal_error": _CHOICE, "enum": _CHOICE,
    "uuid_type": _("Must be a UUID."), "uuid_parsing": _("Must be a UUID."),
    "date_type": _DATE, "date_parsing": _DATE, "date_from_datetime_parsing": _DATE,
    "datetime_type": _DATETIME, "datetime_parsing": _DATETIME, "datetime_from_date_parsing": _DATETIME,
    "list_type": _("Must be a list."),
    "dict_type": _OBJECT, "model_type": _OBJECT, "model_attributes_type": _OBJECT,
    "extra_forbidden": _("This field is not allowed."),
    "url_type": _URL, "url_parsing": _URL, "url_scheme": _URL,
    "json_invalid": _("Not valid JSON."),
}
_GENERIC = _("Invalid value.")


def validation_message(*, type: str, ctx: dict | None, fallback: str) -> str:  # noqa: A002 (pydantic's name)
    """The message of one refused field, in the active language."""
    template = MESSAGES.get(type)
    if template is None:
        return fallback if (get_language() or "en").startswith("en") else str(_GENERIC)
    values = dict(ctx or {})
    if isinstance(values.get("expected"), str):  # pydantic writes "'a', 'b' or 'c'": no English "or"
        values["expected"] = values["expected"].replace("' or '", "', '")
    try:
        return str(template) % values
    except (KeyError, TypeError, ValueError):  # a context without the expected value
        return str(template).split("%(")[0].rstrip(" :") or str(_GENERIC)


__all__ = ["MESSAGES", "validation_message"]
