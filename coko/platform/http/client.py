"""Who is calling: the client's address, behind the gateway or not.

``client_ip(request)`` is the one place the platform reads a client's address; rate limits,
lockouts and the audit log all key on it.

* When the peer (``REMOTE_ADDR``) is a trusted proxy (``settings.COKO_TRUSTED_PROXIES``,
  a list of CIDRs: the ingress controller's pod range in the Kubernetes manifests), the
  address is taken from ``X-Forwarded-For``: the right-most entry that is not itself a
  trusted proxy. Each proxy appends the address it received the request from, so the
  right-most untrusted entry is the last hop nobody we trust vouches for; anything to its
  left was written by the client and is ignored (a spoofed header buys nothing).
* Otherwise the address is the peer's: a client talking to us directly cannot choose its
  key by sending ``X-Forwarded-For``.

IPv4-mapped IPv6 addresses are read as IPv4 and entries with a port (``1.2.3.4:5678``,
``[2001:db8::1]:443``) lose it. An entry that is not an address stops the walk at the last
trusted hop (all clients behind a broken proxy share its budget: closed, not open).
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:  # settings import this module: nothing of Django's request machinery at import
    from django.http import HttpRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: At most this many ``X-Forwarded-For`` entries are read (a hostile header can be long).
MAX_HOPS = 20


def parse_cidrs(value: str) -> list[str]:
    """``COKO_TRUSTED_PROXIES`` (comma-separated CIDRs or addresses), checked; for settings."""
    cidrs = [item.strip() for item in value.split(",") if item.strip()]
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ValueError(f"{cidr!r} is not a CIDR (e.g. 10.244.0.0/16)") from None
    return cidrs


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _address(raw: str | None) -> IPAddress | None:
    if not raw:
        return None
    value = raw.strip()
    if value.startswith("["):  # [v6] or [v6]:port
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:  # v4:port
        value = value.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: IPAddress, networks: tuple) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_ip(request: HttpRequest) -> str | None:
    """The address of the client that sent ``request`` (see the module's docstring)."""
    cached = getattr(request, "_coko_client_ip", False)
    if cached is not False:
        return cached
    peer = _address(request.META.get("REMOTE_ADDR"))
    found = str(peer) if peer is not None else None
    networks = _networks(tuple(getattr(settings, "COKO_TRUSTED_PROXIES", ()) or ()))
    if peer is not None and networks and _trusted(peer, networks):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        for entry in reversed(forwarded.split(",")[-MAX_HOPS:]):
            hop = _address(entry)
            if hop is None:
                break
            found = str(hop)
            if not _trusted(hop, networks):
                break
    request._coko_client_ip = found
    return found
