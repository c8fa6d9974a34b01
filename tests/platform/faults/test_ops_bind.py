"""The worker's and relay's ops endpoints (/health, /ready, /metrics) listen on
loopback unless the deployment opens them.

The attack: ``make run`` on a laptop in a café served the worker's and relay's
/metrics and /ready (queue names, dependency states) on every interface, ports
9191 and 9192, to anyone on the network. Now they bind to 127.0.0.1 by default;
``COKO_OPS_BIND=0.0.0.0`` opens them in a pod, as the manifests do.
"""

from __future__ import annotations

import http.client
import socket

import pytest

from coko.platform.management.commands import relay_outbox, run_worker
from coko.platform.ops_server import serve_ops


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def other_address() -> str | None:
    """This machine's address on its network (not loopback), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("10.255.255.255", 1))  # no packet is sent: only a route is chosen
        except OSError:
            return None
        address = sock.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def get(host: str, port: int) -> int:
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", "/health")
        return conn.getresponse().status
    finally:
        conn.close()


@pytest.fixture
def serve():
    servers = []

    def start(**kwargs):
        servers.append(serve_ops(port=free_port(), ready=dict, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_ops_endpoints_listen_on_loopback_by_default(serve):
    server = serve()
    host, port = server.server_address[:2]
    assert host == "127.0.0.1"
    assert get("127.0.0.1", port) == 200
    address = other_address()
    if address is not None:  # from the network, nothing listens there
        with pytest.raises(ConnectionRefusedError):
            get(address, port)


def test_coko_ops_bind_opens_them_in_a_container(serve, settings):
    settings.COKO_OPS_BIND = "0.0.0.0"
    server = serve()
    assert server.server_address[0] == "0.0.0.0"
    assert get("127.0.0.1", server.server_address[1]) == 200


@pytest.mark.parametrize("command", [run_worker, relay_outbox], ids=["run_worker", "relay_outbox"])
def test_the_worker_and_relay_commands_bind_to_coko_ops_bind(command):
    parser = command.Command().create_parser("manage.py", command.__name__.rsplit(".", 1)[1])
    assert parser.parse_args([]).http_host == "127.0.0.1"
    assert parser.parse_args(["--http-host", "0.0.0.0"]).http_host == "0.0.0.0"
