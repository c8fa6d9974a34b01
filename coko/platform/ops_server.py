"""A tiny HTTP server for non-web processes (worker, relay): /health, /ready, /metrics."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings
from django.db import connections
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def serve_ops(*, port: int, ready: Callable[[], dict[str, str]],
              host: str | None = None) -> ThreadingHTTPServer | None:
    """Serve the ops endpoints on ``host:port`` in a daemon thread (port 0: don't).

    ``host`` defaults to ``settings.COKO_OPS_BIND``: loopback unless the deployment
    opens it (the pod's manifests set 0.0.0.0 for the kubelet and Prometheus).
    """
    if not port:
        return None
    if host is None:
        host = settings.COKO_OPS_BIND

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            path = self.path.split("?", 1)[0]
            if path == "/health":
                self._send(200, "application/json", b'{"status": "ok"}')
            elif path == "/ready":
                try:
                    checks = ready()
                finally:
                    connections.close_all()  # this probe's thread is gone after the answer
                ok = all(value == "ok" for value in checks.values())
                body = {"status": "ready", "checks": checks} if ok else {
                    "error": {"code": "not_ready", "message": "a dependency is unavailable",
                              "details": {"checks": checks}}}
                self._send(200 if ok else 503, "application/json", json.dumps(body).encode())
            elif path == "/metrics":
                self._send(200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY))
            else:
                self._send(404, "application/json",
                           b'{"error": {"code": "not_found", "message": "Not found", "details": null}}')

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # quiet: probes hit this every few seconds
            pass

    server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
    server = server_class((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="ops-http", daemon=True).start()
    return server
