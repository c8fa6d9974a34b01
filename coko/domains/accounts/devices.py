"""How a session's device is shown to its owner: the app or browser and the system from its
user agent ("Firefox on Android", "KOReader on Linux"), and its address made coarse.

A few patterns, no user-agent database: the owner needs to recognise their own devices,
not a precise inventory. Unknown agents are shown by their first word.
"""

from __future__ import annotations

import ipaddress
import re

#: ``(label, pattern)``, first match wins: reading apps, then browsers (Edge and Opera say
#: "Chrome" too, Chrome says "Safari": the more specific first).
_APPS = (
    ("Coko", r"\bCoko\b"),
    ("KOReader", r"KOReader"),
    ("Moon+ Reader", r"Moon\+"),
    ("Thorium Reader", r"Thorium"),
    ("Aldiko", r"Aldiko"),
    ("FBReader", r"FBReader"),
    ("PocketBook", r"PocketBook"),
    ("Calibre", r"calibre"),
    ("Edge", r"\bEdg(e|A|iOS)?/"),
    ("Opera", r"\bOPR/|\bOpera\b"),
    ("Samsung Internet", r"SamsungBrowser"),
    ("Firefox", r"\bFirefox/|\bFxiOS/"),
    ("Chrome", r"\bChrome/|\bCriOS/"),
    ("Safari", r"\bSafari/"),
    ("curl", r"^curl/"),
)
_SYSTEMS = (
    ("Android", r"Android"),
    ("iOS", r"iPhone|iPad|iPod"),
    ("Windows", r"Windows"),
    ("macOS", r"Mac OS X|Macintosh"),
    ("ChromeOS", r"CrOS"),
    ("Kindle", r"Kindle"),
    ("Linux", r"Linux|X11"),
)


def user_agent_summary(user_agent: str) -> str:
    """``"<app or browser> on <system>"`` as far as the user agent tells; ``"Unknown device"``."""
    agent = (user_agent or "").strip()
    if not agent:
        return "Unknown device"
    app = next((label for label, pattern in _APPS if re.search(pattern, agent)), None)
    system = next((label for label, pattern in _SYSTEMS if re.search(pattern, agent)), None)
    if app is None:
        app = re.split(r"[/\s;(]", agent, maxsplit=1)[0][:40] or "Unknown app"
    return f"{app} on {system}" if system else app


def ip_coarse(ip: str | None) -> str | None:
    """The network an address is in, not the address: ``41.82.214.0/24``, an IPv6 ``/48``."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
