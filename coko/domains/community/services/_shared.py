"""What the community use cases share: the alias."""

from __future__ import annotations

DB = "community"
