"""Payments against the loopback provider simulators, as in production but in one process.

- ``Webhooks``: the simulator's webhook ``transport``: each delivery is POSTed to Coko's
  webhook route through Django's test client (raw body and signature headers as sent), and the
  answer's status goes back to the simulator (a 4xx is a failed delivery there, as at the provider).
- ``work_off()``: what the worker does with the ``payments`` queue: the messages the webhook
  route and ``payments_poll`` put in the real Redis broker are consumed and their actors run here.
- ``Clocks``: our clock (frozen) and the simulator's move together: a webhook the simulator signs
  "now" is within our replay window, and ten minutes later it is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import dramatiq
from django.test import Client

from coko.domains.payments import services


@dataclass
class Webhooks:
    client: Client = field(default_factory=lambda: Client(REMOTE_ADDR="203.0.113.9"))
    answers: list = field(default_factory=list)

    def __call__(self, url: str, headers: dict[str, str], body: bytes) -> int:
        split = urlsplit(url)
        path = split.path + (f"?{split.query}" if split.query else "")
        extra = {k: v for k, v in headers.items() if k.lower() != "content-type"}
        response = self.client.post(path, data=body, content_type=headers.get("Content-Type", "application/json"),
                                    headers=extra)
        self.answers.append(response)
        return response.status_code

    def statuses(self) -> list[int]:
        return [r.status_code for r in self.answers]

    def rejections(self) -> list[str]:
        return [r.json()["error"]["details"]["reason"] for r in self.answers if r.status_code == 400]


def queue_flush() -> None:
    dramatiq.get_broker().flush(services.QUEUE_NAME)


def work_off(*, limit: int = 50) -> list[tuple[str, str, Exception | None]]:
    """Run what is waiting in the payments queue as the worker would (actor name, argument,
    the exception it raised if it did); messages that raise are not retried here."""
    broker = dramatiq.get_broker()
    consumer = broker.consume(services.QUEUE_NAME, prefetch=limit, timeout=20)
    ran = []
    try:
        for message in consumer:
            if message is None or len(ran) >= limit:
                break
            actor = broker.get_actor(message.actor_name)
            try:
                actor.fn(*message.args, **message.kwargs)
                ran.append((message.actor_name, message.args[0], None))
            except Exception as exc:  # noqa: BLE001 - reported to the test
                ran.append((message.actor_name, message.args[0], exc))
            consumer.ack(message)
    finally:
        consumer.close()
    return ran


@dataclass
class Clocks:
    ours: object
    theirs: object

    def advance(self, seconds: float) -> None:
        self.ours.advance(seconds)
        self.theirs.advance(seconds)
