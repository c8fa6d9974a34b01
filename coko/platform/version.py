"""What is running: the package version and when this process started."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from importlib import metadata

#: when this process imported the platform (its start, to a fraction of a second)
STARTED_AT = datetime.now(UTC)


@cache
def app_version() -> str:
    """The installed ``coko`` distribution's version (``0+unknown`` outside an install)."""
    try:
        return metadata.version("coko")
    except metadata.PackageNotFoundError:
        return "0+unknown"


__all__ = ["STARTED_AT", "app_version"]
