"""Outbound HTTP: the one door through which the platform calls other hosts.

Every HTTP client that reaches a host named from outside the process's own code (push
endpoints registered by devices, push and SMS providers, social login) is built here:

    client = outbound.http_client(timeout=5)        # httpx.Client
    session = outbound.requests_session()           # requests.Session (pywebpush, twilio, google-auth)
    outbound.url_check(url)                         # resolve and check now, e.g. at subscription

Each new connection resolves the host ONCE, refuses it unless every address is a public
unicast address (no private, loopback, link-local, unspecified, multicast, reserved or
shared/CGNAT address, also when IPv4 hides in IPv6: mapped, 6to4, NAT64), and then connects
to the checked address itself: a DNS answer that changes between the check and the connect
(DNS rebinding) is never used. TLS still checks the certificate against the host name (SNI
and verification use the name, only the TCP connect uses the address).

``COKO_OUTBOUND_ALLOWED_HOSTS`` (``host``, ``host:port`` or ``*.suffix``) names hosts that may
be private: the provider simulators of ``make run`` and of the tests (loopback). Their address
is still resolved once and pinned, only not checked.

Refusal raises :class:`OutboundRefused` (not an ``OSError``, not an ``httpx``/``requests``
error: no retry loop of a library takes it for a network hiccup); callers map it to their own
vocabulary. Clients built here ignore proxy environment variables (``trust_env=False``): a
proxy would resolve the name itself, out of reach of the check.

What does not go through here, because the host is fixed by the operator's configuration
and may rightly be private (a cluster service): the databases, Redis, S3 (``boto3``, the
configured endpoint), OpenSearch, SMTP, SendGrid's API URL, the JWKS URL
(``COKO_JWT_PUBLIC_KEYS_URL``) and the Goodbooks import URL given on the command line.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class OutboundRefused(Exception):
    """The destination is not a public address and no setting allows its host."""

    def __init__(self, host: str, reason: str, address: str | None = None) -> None:
        self.host, self.reason, self.address = host, reason, address
        where = f" ({address})" if address else ""
        super().__init__(f"outbound request to {host!r}{where} refused: {reason}")


# --- the address policy ---------------------------------------------------------------------------
def address_is_public(address: IPAddress) -> bool:
    """A global unicast address: what the platform may connect to without a setting."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo:
            embedded = address.teredo[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_is_public(embedded)
    return bool(address.is_global and not (address.is_multicast or address.is_reserved
                                           or address.is_unspecified or address.is_loopback
                                           or address.is_link_local or address.is_private))


def host_matches(host: str, port: int | None, patterns: Iterable[str]) -> bool:
    """Whether ``host`` (and ``port``) is named by one of ``patterns``: ``host``, ``host:port``,
    ``*.suffix`` (any name below the suffix, not the suffix itself), ``[v6]`` or ``[v6]:port``."""
    host = _normalise(host)
    for pattern in patterns:
        pattern = pattern.strip().lower()
        if not pattern:
            continue
        want_port: int | None = None
        if pattern.startswith("["):
            name, _, rest = pattern[1:].partition("]")
            if rest.startswith(":") and rest[1:].isdigit():
                want_port = int(rest[1:])
        else:
            name, sep, maybe_port = pattern.rpartition(":")
            if sep and maybe_port.isdigit() and ":" not in name:
                want_port = int(maybe_port)
            else:
                name = pattern
        name = name.rstrip(".")
        if want_port is not None and want_port != port:
            continue
        if name.startswith("*."):
            if host.endswith(name[1:]) and len(host) > len(name) - 1:
                return True
        elif host == name:
            return True
    return False


def allowed_hosts() -> list[str]:
    from django.conf import settings

    return list(getattr(settings, "COKO_OUTBOUND_ALLOWED_HOSTS", None) or [])


def _normalise(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


def _resolve(host: str, port: int) -> list[IPAddress]:
    """The host's addresses (one ``getaddrinfo``); tests may replace this to play a resolver."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: list[IPAddress] = []
    for _family, _type, _proto, _canon, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in seen:
            seen.append(address)
    return seen


def checked_address(host: str, port: int) -> str:
    """The address to connect to for ``host:port``, resolved once and checked.

    Raises :class:`OutboundRefused` for a non-public address of a host no setting allows, and
    ``socket.gaierror`` when the name does not resolve.
    """
    name = _normalise(host)
    if not name:
        raise OutboundRefused(host, "no host")
    try:
        addresses: list[IPAddress] = [ipaddress.ip_address(name)]
    except ValueError:
        addresses = _resolve(name, port)
        if not addresses:
            raise socket.gaierror(socket.EAI_NONAME, f"{name} has no address")
    if not host_matches(name, port, allowed_hosts()):
        for address in addresses:
            if not address_is_public(address):
                raise OutboundRefused(name, "not a public address", str(address))
    return str(addresses[0])


def url_check(url: str) -> None:
    """Resolve and check the host of an ``http(s)`` URL now (``OutboundRefused`` if refused)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused(parts.hostname or url, "not an http(s) URL")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise OutboundRefused(parts.hostname, "bad port") from exc
    checked_address(parts.hostname, port)


# --- httpx -----------------------------------------------------------------------------------------
def _checked_backend():
    import httpcore

    class CheckedBackend(httpcore.NetworkBackend):
        """httpcore's sync backend, connecting only to checked addresses."""

        def __init__(self) -> None:
            self._inner = httpcore.SyncBackend()

        def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
            try:
                address = checked_address(host, port)
            except socket.gaierror as exc:
                raise httpcore.ConnectError(f"{host}: {exc}") from exc
            return self._inner.connect_tcp(address, port, timeout=timeout, local_address=local_address,
                                           socket_options=socket_options)

        def connect_unix_socket(self, path, timeout=None, socket_options=None):
            raise OutboundRefused(path, "unix sockets are not outbound destinations")

        def sleep(self, seconds: float) -> None:
            self._inner.sleep(seconds)

    return CheckedBackend()


def http_transport(**kwargs: Any):
    """An ``httpx.HTTPTransport`` whose every connection goes to a checked address."""
    import httpx

    kwargs.pop("uds", None)
    transport = httpx.HTTPTransport(**kwargs)
    transport._pool._network_backend = _checked_backend()  # httpx exposes no parameter for it
    return transport


def http_client(**kwargs: Any):
    """An ``httpx.Client`` (same arguments) through :func:`http_transport`; no proxies from the
    environment, no redirects unless asked."""
    import httpx

    transport_kwargs = {k: kwargs.pop(k) for k in ("verify", "http1", "http2", "limits", "retries")
                        if k in kwargs}
    kwargs.setdefault("follow_redirects", False)
    return httpx.Client(transport=http_transport(**transport_kwargs), trust_env=False, **kwargs)


# --- requests (pywebpush, twilio, google-auth) -------------------------------------------------------
def requests_adapter(**kwargs: Any):
    """A ``requests`` ``HTTPAdapter`` whose urllib3 connections go to checked addresses."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import NameResolutionError

    def _new_conn(conn, parent_new_conn):
        try:
            address = checked_address(conn._dns_host, conn.port)
        except socket.gaierror as exc:
            raise NameResolutionError(conn.host, conn, exc) from exc
        name, conn._dns_host = conn._dns_host, address
        try:
            return parent_new_conn(conn)
        finally:
            conn._dns_host = name

    class CheckedHTTPConnection(HTTPConnection):
        def _new_conn(self):
            return _new_conn(self, HTTPConnection._new_conn)

    class CheckedHTTPSConnection(HTTPSConnection):
        def _new_conn(self):
            return _new_conn(self, HTTPSConnection._new_conn)

    class CheckedHTTPPool(HTTPConnectionPool):
        ConnectionCls = CheckedHTTPConnection

    class CheckedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = CheckedHTTPSConnection

    class CheckedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args, **kw):
            super().init_poolmanager(*args, **kw)
            self.poolmanager.pool_classes_by_scheme = {"http": CheckedHTTPPool, "https": CheckedHTTPSPool}

        def proxy_manager_for(self, proxy, **proxy_kwargs):
            raise OutboundRefused(str(proxy), "proxies are not used for outbound requests")

    return CheckedAdapter(**kwargs)


def requests_mount(session, **adapter_kwargs: Any):
    """Put the checked adapter on ``session`` for http and https; returns the session."""
    adapter = requests_adapter(**adapter_kwargs)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.trust_env = False
    return session


def requests_session(**adapter_kwargs: Any):
    """A ``requests.Session`` through :func:`requests_adapter`."""
    import requests

    return requests_mount(requests.Session(), **adapter_kwargs)


__all__ = [
    "OutboundRefused",
    "address_is_public",
    "allowed_hosts",
    "checked_address",
    "host_matches",
    "http_client",
    "http_transport",
    "requests_adapter",
    "requests_mount",
    "requests_session",
    "url_check",
]
