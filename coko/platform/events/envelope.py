"""The event envelope: versioned, immutable, the same shape on every wire."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+")


@dataclass(frozen=True, slots=True)
class Event:
    """One fact a domain announces: ``user.registered``, ``book.published`` …"""

    type: str
    producer: str
    aggregate_id: str
    payload: dict[str, Any]
    version: int = 1
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    trace_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at.isoformat(),
            "producer": self.producer,
            "aggregate_id": self.aggregate_id,
            "payload": self.payload,
            "trace_id": self.trace_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Event":
        return cls(
            id=uuid.UUID(data["id"]),
            type=data["type"],
            version=int(data["version"]),
            occurred_at=datetime.fromisoformat(data["occurred_at"]),
            producer=data["producer"],
            aggregate_id=data["aggregate_id"],
            payload=data["payload"],
            trace_id=data.get("trace_id", ""),
        )
