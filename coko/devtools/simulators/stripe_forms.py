"""Stripe's request encoding and error shape, for the Stripe simulator.

Stripe's v1 API takes ``application/x-www-form-urlencoded`` bodies (and GET query strings)
with bracket notation: ``metadata[order]=7``, ``line_items[0][price_data][currency]=xof``,
``expand[]=latest_charge``. ``parse_params`` turns them into nested dicts and lists.
"""

from __future__ import annotations

import re
import secrets
import string
from calendar import monthrange
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
                "xaf", "xof", "xpf"}
CURRENCIES = ZERO_DECIMAL | {"usd", "eur", "gbp", "cad", "chf", "mad", "ngn", "ghs", "kes", "zar", "aud"}
_ALNUM = string.ascii_letters + string.digits


class StripeError(Exception):
    """An error answered in Stripe's shape ``{"error": {type, code, message, param, ...}}``."""

    def __init__(self, status: int, message: str, *, type: str = "invalid_request_error",  # noqa: A002
                 code: str | None = None, param: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param, self.extra = status, message, type, code, param, extra

    def body(self) -> dict[str, Any]:
        error = {"type": self.type, "message": self.message, **self.extra}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}


def missing(param: str) -> StripeError:
    return StripeError(400, f"Missing required param: {param}.", code="parameter_missing", param=param)


def no_such(kind: str, object_id: str, param: str = "id") -> StripeError:
    return StripeError(404, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


def new_id(prefix: str, n: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(n))


def parse_params(encoded: str) -> dict[str, Any]:
    """``a[b][0]=x&a[b][1]=y&e[]=z`` -> ``{"a": {"b": ["x", "y"]}, "e": ["z"]}``."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(encoded, keep_blank_values=True):
        match = KEY.match(key)
        if not match:
            raise StripeError(400, f"Invalid parameter name: {key}", code="parameter_invalid_string", param=key)
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node = root
        for i, part in enumerate(parts):
            if part == "":
                part = str(len(node))
            if i == len(parts) - 1:
                node[part] = value
            else:
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise StripeError(400, f"Invalid parameter: {key}", param=key)
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _lists(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def check_params(params: dict[str, Any], allowed: set[str]) -> None:
    for name in params:
        if name not in allowed and name != "expand":
            raise StripeError(400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name)


def as_int(params: dict[str, Any], name: str, *, required: bool = False, minimum: int | None = None) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        if required:
            raise missing(name)
        return None
    if not re.fullmatch(r"-?\d+", str(value)):
        raise StripeError(400, f"Invalid integer: {value}", code="parameter_invalid_integer", param=name)
    number = int(value)
    if minimum is not None and number < minimum:
        raise StripeError(400, f"This value must be greater than or equal to {minimum}.",
                          code="parameter_invalid_integer", param=name)
    return number


def as_bool(params: dict[str, Any], name: str) -> bool | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    if value not in ("true", "false"):
        raise StripeError(400, f"Invalid boolean: {value}", code="parameter_invalid_boolean", param=name)
    return value == "true"


def as_currency(params: dict[str, Any], name: str = "currency") -> str:
    """Stripe takes any case and answers lowercase."""
    value = params.get(name)
    if not value:
        raise missing(name)
    currency = str(value).lower()
    if currency not in CURRENCIES:
        raise StripeError(400, f"Invalid currency: {currency}. Stripe currently supports these currencies: "
                          + ", ".join(sorted(CURRENCIES)), code="parameter_invalid_string", param=name)
    return currency


def metadata(params: dict[str, Any], current: dict[str, str] | None = None) -> dict[str, str]:
    """Stripe's metadata merge: an empty value deletes the key; ``metadata=""`` clears all."""
    value = params.get("metadata")
    result = dict(current or {})
    if value == "":
        return {}
    if value is None:
        return result
    if not isinstance(value, dict):
        raise StripeError(400, "Invalid object", code="parameter_invalid_string", param="metadata")
    for key, item in value.items():
        if item == "":
            result.pop(key, None)
        else:
            result[key] = str(item)
    return result


def add_interval(timestamp: int, interval: str, count: int = 1) -> int:
    """The end of a billing period: calendar months and years, as Stripe bills them."""
    start = datetime.fromtimestamp(timestamp, UTC)
    if interval == "day":
        return int((start + timedelta(days=count)).timestamp())
    if interval == "week":
        return int((start + timedelta(weeks=count)).timestamp())
    months = count * (12 if interval == "year" else 1)
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    return int(start.replace(year=year, month=month, day=min(start.day, monthrange(year, month)[1])).timestamp())
