"""What the three payment simulators (Wave, Orange Money, Stripe) share.

- ``Clock``: the provider's time. Token and session expiry read it, so a test moves time
  with ``clock.advance(seconds)`` instead of sleeping. Signatures are stamped with it too.
- ``WebhookOutbox``: the provider's deliveries (webhooks, notifications), with the controls
  a test needs to play the network's tricks: ``duplicate_next``, ``hold`` / ``release``
  (delayed, or reordered with ``release(reverse=True)``), ``drop_next`` (never delivered),
  ``redeliver`` and ``retry_failed``.
- ``PaymentSimulator``: a ``Simulator`` whose API calls can also be stalled
  (``stall_next``: the call is carried out but its answer is held, so the client times out
  after the provider did the work) and which serves an approve / decline page.
"""

from __future__ import annotations

import html
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from .base import Answer, RecordedRequest, Simulator

Transport = Callable[[str, dict[str, str], bytes], int]  # (url, headers, body) -> HTTP status


class Clock:
    """Wall-clock time plus an offset a test controls (``advance``, ``set``)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    def set(self, timestamp: float) -> None:
        self.offset = timestamp - time.time()

    def iso(self, timestamp: float | None = None) -> str:
        """``2026-01-31T10:13:04Z`` (UTC, seconds), as Wave writes times."""
        moment = self.now() if timestamp is None else timestamp
        return datetime.fromtimestamp(int(moment), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Delivery:
    """One attempt to deliver an event (``status`` None: not answered, see ``error``)."""

    event_id: str
    url: str | None
    body: bytes
    headers: dict[str, str]
    status: int | None = None
    error: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class _Event:
    event_id: str
    body: bytes
    url: str | None
    copies: int = 1


@dataclass
class WebhookOutbox:
    """Where a simulator's events go, and the faults a test can script on them.

    ``url`` is the configured endpoint (Orange passes each payment's ``notif_url`` instead).
    ``transport``, when set, replaces HTTP: ``transport(url, headers, body) -> status`` (a
    test can route deliveries to Django's test client). With neither, an event is kept
    undelivered in ``deliveries`` (status None) for the test to read.
    ``sign(body, timestamp) -> headers`` adds the provider's signature at each attempt.
    """

    sign: Callable[[bytes, int], dict[str, str]]
    clock: Clock
    record: Callable[[dict[str, Any]], Any] = lambda message: None
    url: str | None = None
    transport: Transport | None = None
    timeout: float = 10.0
    events: list[dict[str, Any]] = field(default_factory=list)  # every event emitted, oldest first
    deliveries: list[Delivery] = field(default_factory=list)  # every attempt, oldest first
    held: list[_Event] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._duplicate: list[int] = []
        self._drop = 0
        self._hold: int | None = 0  # None: hold everything until release()
        self._client: httpx.Client | None = None  # one client: making one per delivery is slow

    # controls ------------------------------------------------------------------
    def duplicate_next(self, n: int = 1, *, copies: int = 2) -> None:
        """The next ``n`` events are each delivered ``copies`` times (same id, same body)."""
        with self._lock:
            self._duplicate.extend([copies] * n)

    def drop_next(self, n: int = 1) -> None:
        """The next ``n`` events are never delivered (they are listed in ``dropped``)."""
        with self._lock:
            self._drop += n

    def hold(self, n: int | None = None) -> None:
        """Hold the next ``n`` events (every event if None) until ``release``: a delay."""
        with self._lock:
            self._hold = n

    def release(self, *, reverse: bool = False) -> list[Delivery]:
        """Deliver the held events, oldest first (newest first with ``reverse``: reordered),
        and stop holding."""
        with self._lock:
            events, self.held, self._hold = list(self.held), [], 0
        return [d for event in (reversed(events) if reverse else events) for d in self._send(event)]

    def redeliver(self, event_id: str) -> Delivery:
        """Deliver an event already sent once more, as a provider's retry does."""
        last = next(d for d in reversed(self.deliveries) if d.event_id == event_id)
        return self._send(_Event(event_id, last.body, last.url))[0]

    def retry_failed(self) -> list[Delivery]:
        """Deliver again every event whose last attempt was not answered 2xx."""
        last: dict[str, Delivery] = {}
        for d in self.deliveries:
            last[d.event_id] = d
        return [self.redeliver(event_id) for event_id, d in last.items() if not d.ok]

    # reading -------------------------------------------------------------------
    def delivered(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Bodies of the attempts made (duplicates included), optionally of one type."""
        bodies = [d.json() for d in self.deliveries]
        return [b for b in bodies if event_type is None or b.get("type") == event_type]

    # emitting ------------------------------------------------------------------
    def emit(self, event_id: str, payload: dict[str, Any], *, url: str | None = None) -> list[Delivery]:
        """Send one event through the scripted faults; returns the attempts made now."""
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        with self._lock:
            self.events.append(payload)
            event = _Event(event_id, body, url, self._duplicate.pop(0) if self._duplicate else 1)
            if self._drop:
                self._drop -= 1
                self.dropped.append(payload)
                return []
            if self._hold is None or self._hold > 0:
                if self._hold is not None:
                    self._hold -= 1
                self.held.append(event)
                return []
        return self._send(event)

    def _send(self, event: _Event) -> list[Delivery]:
        attempts = []
        for _ in range(event.copies):
            url = event.url or self.url
            headers = {"Content-Type": "application/json", **self.sign(event.body, int(self.clock.now()))}
            delivery = Delivery(event.event_id, url, event.body, headers)
            try:
                if self.transport is not None:
                    delivery.status = self.transport(url or "", headers, event.body)
                elif url:
                    if self._client is None:
                        self._client = httpx.Client(timeout=self.timeout, trust_env=False)
                    delivery.status = self._client.post(url, content=event.body, headers=headers).status_code
                else:
                    delivery.error = "no webhook URL configured"
            except Exception as exc:  # the receiver is down: kept as a failed attempt
                delivery.error = repr(exc)
            with self._lock:
                self.deliveries.append(delivery)
            self.record({"event_id": event.event_id, "type": json.loads(event.body).get("type"), "url": url,
                         "status": delivery.status, "error": delivery.error})
            attempts.append(delivery)
        return attempts


class PaymentSimulator(Simulator):
    """A payment provider: a clock, an outbox, stallable API calls and a payment page."""

    merchant_name = "Coko"

    def __init__(self, *, clock: Clock | None = None, webhook_url: str | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.clock = clock or Clock()
        self.webhooks = WebhookOutbox(sign=self.sign, clock=self.clock, record=self.record, url=webhook_url)
        self._stalls = 0
        self._unstall = threading.Event()

    def sign(self, body: bytes, timestamp: int) -> dict[str, str]:
        """The provider's signature headers for ``body`` at ``timestamp`` (none by default)."""
        return {}

    # stalled answers -----------------------------------------------------------
    def stall_next(self, n: int = 1) -> None:
        """The next ``n`` API calls are carried out, but their answers wait for
        ``release_stalled`` (or the simulator's stop): the client times out, the work is done."""
        with self._lock:
            self._stalls += n
            self._unstall.clear()

    def release_stalled(self) -> None:
        self._unstall.set()

    def stop(self) -> None:
        self._unstall.set()
        super().stop()

    def answer_api(self, req: RecordedRequest, work: Callable[[], Answer]) -> Answer:
        """Run one API call through the scripted failures and stalls."""
        failure = self._pop_failure()
        if failure is not None:
            return self.failure_answer(failure.status, failure.body, self._retry_headers(failure))
        answer = work()
        with self._lock:
            stall, self._stalls = self._stalls > 0, max(self._stalls - 1, 0)
        if stall:
            self._unstall.wait(60)
        return answer

    def failure_answer(self, status: int, body: Any, headers: dict[str, str]) -> Answer:  # pragma: no cover
        raise NotImplementedError

    # the payment page ----------------------------------------------------------
    def page(self, *, title: str, lines: list[str], action: str | None) -> Answer:
        """A plain approve / decline page (no script, no external asset); ``action`` is the
        form target, posted with ``decision=approve`` or ``decision=decline``."""
        rows = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
        form = ""
        if action:
            form = (f'<form method="post" action="{html.escape(action)}">'
                    '<button name="decision" value="approve">Approve payment</button> '
                    '<button name="decision" value="decline">Decline payment</button></form>')
        body = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)} "
                "(simulator)</title></head><body><p><strong>Payment simulator — no real money moves"
                f"</strong></p><h1>{html.escape(title)}</h1>{rows}{form}</body></html>")
        return Answer(200, body.encode(), {"Content-Type": "text/html; charset=utf-8",
                                           "Content-Security-Policy": "default-src 'none'; form-action *"})

    @staticmethod
    def decision(req: RecordedRequest) -> str | None:
        value = req.form().get("decision")
        return value if value in {"approve", "decline"} else None

    @staticmethod
    def redirect(location: str) -> Answer:
        return Answer(303, b"", {"Location": location})

    @staticmethod
    def query(req: RecordedRequest) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(req.raw_path).query, keep_blank_values=True))
