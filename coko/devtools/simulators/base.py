"""The loopback HTTP server every provider simulator stands on.

A simulator is a real HTTP server (stdlib ``http.server``) on ``127.0.0.1`` in a daemon
thread. It keeps every request (``requests``), answers as its provider documents
(``handle``), can be told to fail (``fail_next``), and records each message it accepted
(``record``) so a developer can read it:

- ``messages``: the accepted messages, JSON-safe dicts, oldest first;
- ``record_to``: a file that gets one JSON line per message (``make run`` uses
  ``var/simulators/<name>.jsonl``);
- ``GET /_messages`` on the simulator's own port: the same list, as JSON (read-only; not
  counted in ``requests``).
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

LISTING_PATH = "/_messages"


@dataclass
class RecordedRequest:
    method: str
    path: str  # decoded path, without the query string
    raw_path: str  # as received (percent-encoded)
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(self.body.decode()).items()}


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, headers: dict[str, str] | None = None) -> Answer:
        return cls(status, json.dumps(payload).encode(), {"Content-Type": "application/json", **(headers or {})})


@dataclass
class Failure:
    status: int
    retry_after: float | None
    body: Any


class Simulator:
    """Base: server lifecycle, request log, scripted failures, the message record."""

    name = "simulator"  # also the record's file name: var/simulators/<name>.jsonl
    default_port = 0  # the fixed loopback port ``make run`` uses

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, record_to: str | Path | None = None) -> None:
        self._host, self._port = host, port
        self._lock = threading.Lock()
        self._failures: list[Failure] = []
        self.requests: list[RecordedRequest] = []
        self.messages: list[dict[str, Any]] = []
        self.record_to = Path(record_to) if record_to else None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------
    def start(self) -> Simulator:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                split = urlsplit(self.path)
                req = RecordedRequest(
                    method=self.command,
                    path=unquote(split.path),
                    raw_path=self.path,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                try:
                    answer = sim._dispatch(req)
                except Exception as exc:  # a bug in the simulator: answer 500, keep serving
                    answer = Answer.json(500, {"error": f"simulator error: {exc!r}"})
                self.send_response(answer.status)
                for k, v in answer.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                if os.environ.get("COKO_SIMULATOR_LOG"):
                    super().log_message(format, *args)

        if self.record_to is not None:
            self.record_to.parent.mkdir(parents=True, exist_ok=True)
        self._server = ThreadingHTTPServer((self._host, self._port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{self.name}-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "simulator not started"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # scripting -----------------------------------------------------------------
    def fail_next(self, n: int = 1, status: int = 503, *, retry_after: float | None = None, body: Any = None) -> None:
        """The next ``n`` provider calls (token calls excluded) answer ``status``."""
        with self._lock:
            self._failures.extend(Failure(status, retry_after, body) for _ in range(n))

    def reset(self) -> None:
        """Forget the failures, requests and messages of this process (the file is kept)."""
        with self._lock:
            self._failures.clear()
            self.requests.clear()
            self.messages.clear()

    def _pop_failure(self) -> Failure | None:
        with self._lock:
            return self._failures.pop(0) if self._failures else None

    def _dispatch(self, req: RecordedRequest) -> Answer:
        if req.method == "GET" and req.path == LISTING_PATH:
            return self.listing()
        with self._lock:
            self.requests.append(req)
        return self.handle(req)

    def handle(self, req: RecordedRequest) -> Answer:  # pragma: no cover - abstract
        raise NotImplementedError

    def calls(self, path_contains: str) -> list[RecordedRequest]:
        return [r for r in self.requests if path_contains in r.path]

    @staticmethod
    def _retry_headers(f: Failure) -> dict[str, str]:
        return {"Retry-After": f"{f.retry_after:g}"} if f.retry_after is not None else {}

    # the record ----------------------------------------------------------------
    def record(self, message: dict[str, Any]) -> dict[str, Any]:
        """Keep one accepted message (JSON-safe): in ``messages`` and, if set, as a line of ``record_to``."""
        entry = {"simulator": self.name, "received_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                 **message}
        line = json.dumps(entry, ensure_ascii=False)
        with self._lock:
            self.messages.append(entry)
            if self.record_to is not None:
                with self.record_to.open("a", encoding="utf-8") as fh:
                    fh.write(line + "\n")
        return entry

    def listing(self) -> Answer:
        """``GET /_messages``: what this simulator accepted since it started, oldest first."""
        with self._lock:
            messages = list(self.messages)
        body = {"simulator": self.name, "count": len(messages), "messages": messages,
                "file": str(self.record_to) if self.record_to else None}
        return Answer(200, json.dumps(body, ensure_ascii=False, indent=1).encode(),
                      {"Content-Type": "application/json; charset=utf-8"})


def read_record(path: str | Path) -> list[dict[str, Any]]:
    """The messages a simulator wrote to its JSON-lines file (``[]`` if it has none yet)."""
    path = Path(path)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
