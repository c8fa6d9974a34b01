"""A loopback HTTP endpoint standing in for Coko's payment webhook routes in the simulator
tests: it keeps every request and answers ``status`` (200 unless a test says otherwise)."""

from __future__ import annotations

from coko.devtools.simulators import Answer, RecordedRequest, Simulator


class Receiver(Simulator):
    name = "receiver"

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.status = 200

    def handle(self, req: RecordedRequest) -> Answer:
        return Answer.json(self.status, {"received": True})

    def bodies(self) -> list[dict]:
        return [r.json() for r in self.requests]
