"""The event envelope: versioned, immutable, the same shape on every wire."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from coko.platform.contracts import EventPayload

    P = TypeVar("P", bound=EventPayload)

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
    trace_id: str = ""  # the request id (X-Request-ID) of the work that published it
    # The W3C trace context (traceparent, tracestate) of the span that published it, or of
    # the relay span that delivered it: handlers' spans continue that trace.
    trace_context: dict[str, str] = field(default_factory=dict)

    def payload_as(self, cls: "type[P]") -> "P":
        """The payload read as ``cls``, the declared class of this type (older versions upcast).

        Raises ``TypeError`` if ``cls`` is not the class the producer declared for this
        type, and ``PayloadVersionError`` if the payload is newer than ``cls`` knows.
        """
        from .declared import declared, payload_load

        spec = declared(self.type)
        if spec is not None and spec.payload is not cls:
            raise TypeError(f"{self.type!r} carries a {spec.payload.__name__}, not a {cls.__name__}")
        return payload_load(cls, self.payload, version=self.version)

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
            "trace_context": self.trace_context,
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
            trace_context=data.get("trace_context") or {},
        )
