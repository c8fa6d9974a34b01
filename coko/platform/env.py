"""Settings from the environment, validated once at start-up.

Every reader records a problem instead of raising, so that ``Env.check()`` can stop
the process with one clear line naming the variable (and nothing else: no
traceback for a configuration mistake).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class Env:
    """Typed access to ``os.environ`` that collects every invalid variable."""

    def __init__(self, environ: dict[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ
        self.errors: list[str] = []

    def _fail(self, name: str, problem: str, default: T) -> T:
        self.errors.append(f"{name}: {problem}")
        return default

    def str(self, name: str, default: str | None = None, *, required: bool = False,
            pattern: str | None = None) -> str | None:
        value = self.environ.get(name)
        if value is None or value == "":
            if required:
                return self._fail(name, "is required but not set", default)
            return default
        if pattern and not re.fullmatch(pattern, value):
            return self._fail(name, f"{value!r} does not match {pattern}", default)
        return value

    def bool(self, name: str, default: bool = False) -> bool:
        value = self.environ.get(name)
        if value is None:
            return default
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        return self._fail(name, f"{value!r} is not a boolean (use 1/0, true/false)", default)

    def int(self, name: str, default: int, *, minimum: int | None = None,
            maximum: int | None = None) -> int:
        value = self.environ.get(name)
        if value is None or value == "":
            return default
        try:
            number = int(value)
        except ValueError:
            return self._fail(name, f"{value!r} is not an integer", default)
        if minimum is not None and number < minimum:
            return self._fail(name, f"{number} is below the minimum {minimum}", default)
        if maximum is not None and number > maximum:
            return self._fail(name, f"{number} is above the maximum {maximum}", default)
        return number

    def float(self, name: str, default: float, *, minimum: float | None = None) -> float:
        value = self.environ.get(name)
        if value is None or value == "":
            return default
        try:
            number = float(value)
        except ValueError:
            return self._fail(name, f"{value!r} is not a number", default)
        if minimum is not None and number < minimum:
            return self._fail(name, f"{number} is below the minimum {minimum}", default)
        return number

    def choice(self, name: str, choices: Iterable[str], default: str) -> str:
        value = self.environ.get(name)
        allowed = list(choices)
        if value is None or value == "":
            return default
        if value not in allowed:
            return self._fail(name, f"{value!r} is not one of {', '.join(allowed)}", default)
        return value

    def list(self, name: str, default: list[str] | None = None) -> list[str]:
        value = self.environ.get(name)
        if value is None:
            return list(default or [])
        return [item.strip() for item in value.split(",") if item.strip()]

    def parsed(self, name: str, parse: Callable[[str], T], default: T, *,
               required: bool = False) -> T:
        value = self.environ.get(name)
        if value is None or value == "":
            if required:
                return self._fail(name, "is required but not set", default)
            return default
        try:
            return parse(value)
        except Exception as exc:  # noqa: BLE001 - any parse failure is a config error
            return self._fail(name, str(exc) or exc.__class__.__name__, default)

    def check(self) -> None:
        """Stop the process with one line per invalid variable (exit status 78, EX_CONFIG)."""
        if self.errors:
            for error in self.errors:
                print(f"coko: configuration error: {error}", file=sys.stderr)
            raise SystemExit(78)
