"""The web process as production runs it: gunicorn with ``infra/gunicorn.conf.py`` (issue 10).

gunicorn answers some requests itself, before Django: a request line over 4094 bytes (414)
and headers over 8190 bytes or 100 fields (431). Those answers are the API's error envelope
too (``coko.platform.http.gunicorn_worker``). And gunicorn believes ``X-Forwarded-Proto``
only from ``COKO_TRUSTED_PROXIES``: a client talking to the process directly cannot claim
HTTPS to skip ``COKO_SECURE_HTTPS``'s redirect.

A real gunicorn is started on a socket this test bound and listens on (``fd://``): a
request sent before the worker is up waits in the backlog, so nothing polls or sleeps.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


class Gunicorn:
    """``gunicorn config.wsgi:application -c infra/gunicorn.conf.py`` on a loopback port."""

    def __init__(self, tmp_path: Path, **env: str) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.log = tmp_path / "gunicorn.log"
        fd = self.listener.fileno()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "config.wsgi:application", "-c", "infra/gunicorn.conf.py"],
            cwd=ROOT, pass_fds=[fd], start_new_session=True,
            env={**os.environ, "GUNICORN_BIND": f"fd://{fd}", "WEB_CONCURRENCY": "1",
                 "GUNICORN_THREADS": "2", "COKO_TRUSTED_PROXIES": "", **env},
            stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )

    def send(self, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        """One request, written as is; the answer's status, headers (lower-case) and body."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=60) as conn:
            conn.sendall(raw)
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        assert answer, f"no answer; gunicorn's log:\n{self.log.read_text()[-3000:]}"
        head, _, body = answer.partition(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines)}
        return int(status_line.split()[1]), headers, body

    def get(self, target: str, *headers: str) -> tuple[int, dict[str, str], bytes]:
        lines = [f"GET {target} HTTP/1.1", "Host: localhost", "Connection: close", *headers]
        return self.send(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.listener.close()


@pytest.fixture(scope="module")
def direct(tmp_path_factory):
    """gunicorn reached directly (no trusted proxy), in production's HTTPS mode."""
    server = Gunicorn(tmp_path_factory.mktemp("direct"), COKO_SECURE_HTTPS="1")
    yield server
    server.stop()


def envelope(status: int, headers: dict, body: bytes) -> dict:
    assert headers["content-type"] == "application/json", (status, headers, body[:300])
    assert int(headers["content-length"]) == len(body)
    error = json.loads(body)
    assert set(error) == {"error"} and set(error["error"]) == {"code", "message", "details"}
    assert error["error"]["message"]
    return error["error"]


def test_a_request_line_over_gunicorn_s_limit_is_a_414_in_the_envelope(direct):
    status, headers, body = direct.get("/api/v1/books?q=" + "a" * 5000)
    assert status == 414
    assert envelope(status, headers, body)["code"] == "uri_too_long"
    assert b"<html" not in body


def test_a_header_over_gunicorn_s_size_limit_is_a_431_in_the_envelope(direct):
    status, headers, body = direct.get("/api/v1/meta", "X-Padding: " + "a" * 9000)
    assert status == 431
    assert envelope(status, headers, body)["code"] == "request_headers_too_large"


def test_more_headers_than_gunicorn_allows_is_a_431_in_the_envelope(direct):
    status, headers, body = direct.get("/api/v1/meta", *(f"X-Field-{n}: {n}" for n in range(120)))
    assert status == 431
    assert envelope(status, headers, body)["code"] == "request_headers_too_large"


def test_a_malformed_request_line_is_a_400_in_the_envelope(direct):
    status, headers, body = direct.send(b"NOT A REQUEST\r\n\r\n")
    assert status == 400
    assert envelope(status, headers, body)["code"] == "bad_request"


def test_the_same_server_answers_an_ordinary_request(direct):
    conn = http.client.HTTPConnection("127.0.0.1", direct.port, timeout=60)
    try:
        conn.request("GET", "/health")
        response = conn.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["status"] == "ok"
    finally:
        conn.close()


# --- X-Forwarded-Proto: believed from a trusted proxy only ------------------------------------
def test_a_client_cannot_claim_https_to_skip_the_redirect(direct):
    status, headers, _body = direct.get("/api/v1/meta", "X-Forwarded-Proto: https")
    assert status == 301
    assert headers["location"] == "https://localhost/api/v1/meta"


def test_a_trusted_proxy_s_x_forwarded_proto_is_believed(tmp_path):
    server = Gunicorn(tmp_path, COKO_SECURE_HTTPS="1", COKO_TRUSTED_PROXIES="127.0.0.0/8")
    try:
        assert server.get("/api/v1/meta", "X-Forwarded-Proto: https")[0] == 200
        assert server.get("/api/v1/meta")[0] == 301  # the proxy said nothing: plain HTTP
    finally:
        server.stop()
