"""What ``make run`` starts in place of an unconfigured SMS, push or payment provider, and
the environment that points the platform's settings at it.

    names = plan(os.environ)                  # e.g. ["orange-sms", "fcm", "webpush", "wave", ...]
    running = start(names, directory, web_url=web)      # one child process, every simulator in it
    env.update(settings_env(running.urls, directory, web_url=web))   # for the web and worker

A provider counts as configured when its credentials or its ``COKO_NOTIFY_*_ADAPTER`` are in
the environment; ``COKO_SIMULATORS=0`` starts none. Each simulator appends what it accepted
(for a payment provider: each webhook it sent) to ``<directory>/<name>.jsonl`` and lists it
at ``GET <url>/_messages``. The payment simulators send their webhooks to Coko itself
(``web_url`` + ``/api/v1/payment/webhooks/<provider>``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from . import SIMULATORS, fcm, orange_money, orange_sms, stripe, wave, webpush

CHANNELS = "coko.domains.notifications.channels"
ORANGE_SENDER = "+2210000"  # Orange's convention: the country code followed by zeros
WEB_URL = "http://127.0.0.1:8000"  # make run's Coko, where the payment simulators send webhooks
WEBHOOK_PATH = "/api/v1/payment/webhooks/{provider}"
PAYMENT_PROVIDERS = (wave.WaveSimulator.name, orange_money.OrangeMoneySimulator.name, stripe.StripeSimulator.name)


def plan(environ: Mapping[str, str]) -> list[str]:
    """The simulators to start: one per notification channel and per payment provider that
    is not configured (payments: ``WAVE_API_KEY``, ``ORANGE_MONEY_CLIENT_ID``, ``STRIPE_SECRET_KEY``)."""
    if environ.get("COKO_SIMULATORS", "1").lower() in {"0", "false", "no", "off"}:
        return []
    names = []
    if not (environ.get("COKO_NOTIFY_SMS_ADAPTER") or environ.get("ORANGE_SMS_CLIENT_ID")
            or environ.get("TWILIO_ACCOUNT_SID")):
        names.append(orange_sms.OrangeSmsSimulator.name)
    if not (environ.get("COKO_NOTIFY_PUSH_ADAPTER") or environ.get("FCM_SERVICE_ACCOUNT_FILE")):
        names.append(fcm.FcmSimulator.name)
    if not (environ.get("COKO_NOTIFY_WEBPUSH_ADAPTER") or environ.get("WEBPUSH_VAPID_PRIVATE_KEY")):
        names.append(webpush.WebPushSimulator.name)
    for variable, simulator in (("WAVE_API_KEY", wave.WaveSimulator), ("ORANGE_MONEY_CLIENT_ID", orange_money.OrangeMoneySimulator),
                                ("STRIPE_SECRET_KEY", stripe.StripeSimulator)):
        if not environ.get(variable):
            names.append(simulator.name)
    return names


def webhook_url(provider: str, web_url: str = WEB_URL) -> str:
    """Where Coko receives a payment provider's webhooks: ``<web>/api/v1/payment/webhooks/wave`` …"""
    return web_url.rstrip("/") + WEBHOOK_PATH.format(provider=provider)


def port_variable(name: str) -> str:
    """The variable that moves a simulator's ``make run`` port: ``COKO_SIM_ORANGE_SMS_PORT`` …"""
    return f"COKO_SIM_{name.upper().replace('-', '_')}_PORT"


def default_port(name: str) -> int:
    """The simulator's fixed ``make run`` port (README, "Notifications")."""
    return SIMULATORS[name].default_port


def command(names: list[str], directory: Path, ports: Mapping[str, int] | None = None,
            web_url: str = WEB_URL) -> list[str]:
    """The child process ``make run`` starts: ``python -m coko.devtools.simulators``."""
    ports = ports or {}
    return [sys.executable, "-m", "coko.devtools.simulators", "--dir", str(directory), "--web-url", web_url,
            *(f"{name}:{ports[name]}" if name in ports else name for name in names)]


@dataclass
class Running:
    process: subprocess.Popen
    urls: dict[str, str]  # name -> http://127.0.0.1:port


def start(names: list[str], directory: Path, ports: Mapping[str, int] | None = None, *,
          cwd: Path | None = None, env: Mapping[str, str] | None = None, web_url: str = WEB_URL) -> Running:
    """Start the simulators in one child process; return once every one listens.

    The child prints one JSON line per simulator (``{"name", "url"}``) when it listens;
    if it cannot (a port taken), it says why on stderr and exits, and this raises ``RuntimeError``.
    """
    process = subprocess.Popen(command(names, directory, ports, web_url), cwd=cwd, env=dict(env) if env else None,
                               stdout=subprocess.PIPE, text=True, start_new_session=True)
    urls: dict[str, str] = {}
    while len(urls) < len(names):
        line = process.stdout.readline()
        if not line:
            process.wait()
            raise RuntimeError(f"the provider simulators did not start (exit status {process.returncode})")
        ready = json.loads(line)
        urls[ready["name"]] = ready["url"]
    return Running(process, urls)


def settings_env(urls: Mapping[str, str], directory: Path,
                 environ: Mapping[str, str] | None = None, *, web_url: str = WEB_URL) -> dict[str, str]:
    """The environment variables that point config/settings.py at the running simulators
    (README, "Local simulators"; the payment adapters read ``WAVE_*``, ``ORANGE_MONEY_*``
    and ``STRIPE_*``).

    The simulators listen on loopback, which the outbound check (coko/platform/outbound.py)
    refuses: ``COKO_OUTBOUND_ALLOWED_HOSTS`` names each of them (``127.0.0.1:<port>``), added
    to what ``environ`` (default: this process's environment) already allows."""
    env: dict[str, str] = {}
    hosts = [urlsplit(url).netloc for url in urls.values()]
    if hosts:
        current = (os.environ if environ is None else environ).get("COKO_OUTBOUND_ALLOWED_HOSTS", "")
        known = [h.strip() for h in current.split(",") if h.strip()]
        env["COKO_OUTBOUND_ALLOWED_HOSTS"] = ",".join(known + [h for h in hosts if h not in known])
    if url := urls.get(orange_sms.OrangeSmsSimulator.name):
        env |= {
            "COKO_NOTIFY_SMS_ADAPTER": f"{CHANNELS}.sms.OrangeSmsAdapter",
            "ORANGE_SMS_BASE_URL": url,
            "ORANGE_SMS_CLIENT_ID": orange_sms.CLIENT_ID,
            "ORANGE_SMS_CLIENT_SECRET": orange_sms.CLIENT_SECRET,
            "ORANGE_SMS_SENDER": ORANGE_SENDER,
            "ORANGE_SMS_SENDER_NAME": "Coko",
        }
    if url := urls.get(fcm.FcmSimulator.name):
        account = fcm.write_service_account(directory / "fcm-service-account.json", token_uri=f"{url}/token")
        env |= {
            "COKO_NOTIFY_PUSH_ADAPTER": f"{CHANNELS}.push.FcmPushAdapter",
            "FCM_BASE_URL": url,
            "FCM_PROJECT_ID": fcm.PROJECT_ID,
            "FCM_SERVICE_ACCOUNT_FILE": str(account),
        }
    if urls.get(webpush.WebPushSimulator.name):
        env |= {
            "COKO_NOTIFY_WEBPUSH_ADAPTER": f"{CHANNELS}.push.WebPushAdapter",
            "WEBPUSH_VAPID_PRIVATE_KEY": webpush.vapid_private_key(directory / "webpush-vapid.key"),
        }
    if url := urls.get(wave.WaveSimulator.name):
        env |= {"WAVE_API_BASE": url, "WAVE_API_KEY": wave.API_KEY, "WAVE_WEBHOOK_SECRET": wave.WEBHOOK_SECRET}
    if url := urls.get(orange_money.OrangeMoneySimulator.name):
        env |= {
            "ORANGE_MONEY_API_BASE": url,
            "ORANGE_MONEY_CLIENT_ID": orange_money.CLIENT_ID,
            "ORANGE_MONEY_CLIENT_SECRET": orange_money.CLIENT_SECRET,
            "ORANGE_MONEY_MERCHANT_KEY": orange_money.MERCHANT_KEY,
            "ORANGE_MONEY_COUNTRY": "dev",  # the sandbox path: currency OUV
            "ORANGE_MONEY_NOTIF_URL": webhook_url(orange_money.OrangeMoneySimulator.name, web_url),
        }
    if url := urls.get(stripe.StripeSimulator.name):
        env |= {"STRIPE_API_BASE": url, "STRIPE_SECRET_KEY": stripe.SECRET_KEY,
                "STRIPE_PUBLISHABLE_KEY": stripe.PUBLISHABLE_KEY, "STRIPE_WEBHOOK_SECRET": stripe.WEBHOOK_SECRET}
    return env
