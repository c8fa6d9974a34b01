"""coko.platform.outbound: the one door for outbound HTTP (issue 10, SSRF).

The attacks: a URL or a DNS name that leads the platform's own HTTP clients (httpx, and the
``requests`` inside pywebpush, twilio and google-auth) to an internal address — loopback
services, the cloud metadata endpoint, private networks — directly, hidden in IPv6, or by a DNS
answer that changes between the check and the connection (rebinding). A real loopback HTTP
server stands in for the internal service; it must receive nothing.
"""

from __future__ import annotations

import ipaddress
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from coko.devtools.testing.loopback import serving
from coko.platform import outbound


class _Internal(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        if self.path.startswith("/go/"):  # a redirect to the URL after /go/
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/go/"))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.server.hits.append(self.headers.get("Host"))
        body = b"internal secret"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serving():
    return serving(_Internal)


@pytest.fixture
def internal():
    """An 'internal service' on loopback, counting what reaches it."""
    with _serving() as server:
        yield server


@pytest.fixture
def redirector():
    """A host the settings allow (a simulator) that answers a redirect."""
    with _serving() as server:
        yield server


@pytest.fixture
def no_allowance(settings):
    settings.COKO_OUTBOUND_ALLOWED_HOSTS = []
    return settings


@pytest.fixture
def resolver(monkeypatch):
    """A test DNS: ``answers[name]`` is a list of addresses given one per lookup, in turn."""
    answers: dict[str, list[str]] = {}
    lookups: list[str] = []

    def resolve(host, port):
        lookups.append(host)
        return [ipaddress.ip_address(answers[host].pop(0))]

    monkeypatch.setattr(outbound, "_resolve", resolve)
    resolve.answers, resolve.lookups = answers, lookups
    return resolve


@pytest.mark.parametrize("address,public", [
    ("8.8.8.8", True), ("2001:4860:4860::8888", True),
    ("127.0.0.1", False), ("::1", False), ("10.1.2.3", False), ("172.16.0.1", False),
    ("192.168.1.1", False), ("169.254.169.254", False), ("fe80::1", False), ("0.0.0.0", False),
    ("::", False), ("100.64.0.1", False), ("224.0.0.1", False), ("239.1.1.1", False), ("ff02::1", False),
    ("240.0.0.1", False), ("255.255.255.255", False), ("fc00::1", False),
    ("::ffff:127.0.0.1", False), ("::ffff:169.254.169.254", False), ("2002:7f00:1::", False),  # mapped, 6to4
    ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
])
def test_only_global_unicast_addresses_are_public(address, public):
    assert outbound.address_is_public(ipaddress.ip_address(address)) is public


def test_host_patterns():
    patterns = ["fcm.googleapis.com", "*.push.apple.com", "127.0.0.1:9104", "[::1]"]
    assert outbound.host_matches("FCM.googleapis.com.", 443, patterns)
    assert outbound.host_matches("web.push.apple.com", 443, patterns)
    assert not outbound.host_matches("push.apple.com", 443, patterns)  # the suffix itself is not below it
    assert not outbound.host_matches("evilpush.apple.com", 443, patterns)
    assert not outbound.host_matches("fcm.googleapis.com.evil.example", 443, patterns)
    assert outbound.host_matches("127.0.0.1", 9104, patterns)
    assert not outbound.host_matches("127.0.0.1", 6379, patterns)
    assert outbound.host_matches("::1", 80, patterns)


@pytest.mark.usefixtures("no_allowance")
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "0.0.0.0"])
def test_httpx_and_requests_clients_refuse_an_internal_address(internal, host):
    port = internal.server_address[1]
    url = f"http://{host}:{port}/"
    with outbound.http_client(timeout=2) as client, pytest.raises(outbound.OutboundRefused):
        client.get(url)
    with outbound.requests_session() as session, pytest.raises(outbound.OutboundRefused):
        session.get(url, timeout=2)
    with pytest.raises(outbound.OutboundRefused):
        outbound.url_check(url)
    assert internal.hits == []


def test_a_redirect_to_an_internal_address_is_refused_on_the_way(internal, redirector, settings):
    """An allowed host answers a redirect to an internal one: ``requests`` (pywebpush, twilio,
    google-auth) follows redirects by default, and httpx may be asked to; each hop is checked."""
    settings.COKO_OUTBOUND_ALLOWED_HOSTS = [f"127.0.0.1:{redirector.server_address[1]}"]
    url = f"http://127.0.0.1:{redirector.server_address[1]}/go/http://127.0.0.1:{internal.server_address[1]}/"
    with outbound.requests_session() as session, pytest.raises(outbound.OutboundRefused):
        session.get(url, timeout=2)
    with outbound.http_client(timeout=2, follow_redirects=True) as client, pytest.raises(outbound.OutboundRefused):
        client.get(url)
    assert internal.hits == []


def test_an_allowed_host_is_reached(internal, settings):
    port = internal.server_address[1]
    settings.COKO_OUTBOUND_ALLOWED_HOSTS = [f"127.0.0.1:{port}"]
    with outbound.http_client(timeout=2) as client:
        assert client.get(f"http://127.0.0.1:{port}/").text == "internal secret"
    with outbound.requests_session() as session:
        assert session.get(f"http://127.0.0.1:{port}/", timeout=2).text == "internal secret"
    settings.COKO_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1:1"]  # the host on another port only
    with outbound.http_client(timeout=2) as client, pytest.raises(outbound.OutboundRefused):
        client.get(f"http://127.0.0.1:{port}/")
    assert len(internal.hits) == 2


@pytest.mark.usefixtures("no_allowance")
def test_a_name_that_resolves_to_an_internal_address_is_refused(internal, resolver):
    port = internal.server_address[1]
    resolver.answers["fcm.googleapis.com"] = ["127.0.0.1", "127.0.0.1"]
    with outbound.http_client(timeout=2) as client, pytest.raises(outbound.OutboundRefused, match="127.0.0.1"):
        client.get(f"http://fcm.googleapis.com:{port}/")
    with outbound.requests_session() as session, pytest.raises(outbound.OutboundRefused):
        session.get(f"http://fcm.googleapis.com:{port}/", timeout=2)
    assert internal.hits == []


def test_the_connection_is_pinned_to_the_checked_address(internal, resolver, settings):
    """DNS rebinding: the name is resolved once per connection, and the connection goes to that
    answer — never to a second lookup the attacker's DNS could answer differently. Shown with a
    name only the test resolver knows: the request reaches the loopback server although the
    system resolver has never heard of ``rebind.invalid``, and each connection made one lookup."""
    port = internal.server_address[1]
    settings.COKO_OUTBOUND_ALLOWED_HOSTS = ["rebind.invalid"]  # a simulator name, allowed
    resolver.answers["rebind.invalid"] = ["127.0.0.1", "127.0.0.1"]
    with outbound.http_client(timeout=2) as client:
        assert client.get(f"http://rebind.invalid:{port}/").status_code == 200
    with outbound.requests_session() as session:
        assert session.get(f"http://rebind.invalid:{port}/", timeout=2).status_code == 200
    assert resolver.lookups == ["rebind.invalid", "rebind.invalid"]
    assert internal.hits == [f"rebind.invalid:{port}"] * 2  # the name travels in Host, the address is pinned

    # Rebinding proper: the first answer is public (the check passes), the next would be
    # loopback. The connection goes to the first, checked answer (a public address this test
    # cannot reach: a connect error or timeout), the loopback answer is never asked for.
    settings.COKO_OUTBOUND_ALLOWED_HOSTS = []
    resolver.answers["rebind.example"] = ["8.8.8.8", "127.0.0.1"]
    with outbound.http_client(timeout=0.5) as client, pytest.raises(httpx.TransportError):
        client.get(f"http://rebind.example:{port}/")
    assert resolver.answers["rebind.example"] == ["127.0.0.1"]  # one lookup, no second chance
    assert len(internal.hits) == 2


@pytest.mark.usefixtures("no_allowance")
def test_a_refusal_is_not_a_network_error_a_library_would_retry(internal):
    """``OutboundRefused`` is neither ``httpx.HTTPError`` nor ``OSError``: callers make it a
    permanent failure instead of a retry loop against an internal host."""
    with outbound.http_client(timeout=2) as client:
        try:
            client.get(f"http://127.0.0.1:{internal.server_address[1]}/")
        except outbound.OutboundRefused as exc:
            assert not isinstance(exc, (httpx.HTTPError, OSError))
        else:
            raise AssertionError("not refused")
