"""The provider simulators as ``make run`` starts them (coko.devtools.simulators.local), the
platform's real adapters sending to them through the settings that environment selects, and
what each one received, read back from its record file and its ``GET /_messages`` listing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from coko.devtools.simulators import SendGridSimulator, TwilioSimulator, WebPushSimulator, local, read_record

ROOT = Path(__file__).resolve().parents[2]

SEND_THROUGH_THE_ADAPTERS = """
import json, sys
import django
django.setup()
from coko.domains.notifications.channels import Outgoing, adapter_for
subscription = sys.argv[1]
sys.stdout.write(json.dumps([
    adapter_for("sms").send(Outgoing(to="+221771234567", subject="Coko", text="Your Coko code: 482913")).provider,
    adapter_for("push").send(Outgoing(to="device-token-1", subject="Coko", text="Bonjour", data={"url": "/inbox"})).provider,
    adapter_for("webpush").send(Outgoing(to=subscription, subject="Coko", text="Salut", data={"url": "/inbox"})).provider,
]))  # the test reads the providers the three adapters answered with
"""


@pytest.fixture
def started(tmp_path):
    """What ``make run`` starts on a machine with no SMS or push provider configured
    (any free ports instead of the fixed ones, so a running ``make run`` does not clash)."""
    names = local.plan({})
    running = local.start(names, tmp_path, ports={name: 0 for name in names}, cwd=ROOT)
    yield names, running
    os.killpg(running.process.pid, signal.SIGTERM)
    assert running.process.wait(10) == 0


def test_make_run_starts_sms_and_push_simulators_and_each_records_what_the_platform_sent(started, tmp_path):
    names, running = started
    assert names == ["orange-sms", "fcm", "webpush"]
    env = local.settings_env(running.urls, tmp_path)
    # A developer's "browser": a subscription the web-push simulator can decrypt for.
    subscription = httpx.post(f"{running.urls['webpush']}/_subscriptions").json()

    # The web and worker processes get ``env``; one such process sends on each channel.
    sent = subprocess.run([sys.executable, "-c", SEND_THROUGH_THE_ADAPTERS, json.dumps(subscription)], cwd=ROOT,
                          env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
                          capture_output=True, text=True, timeout=60)
    assert sent.returncode == 0, sent.stderr
    assert json.loads(sent.stdout) == ["orange", "fcm", "webpush"]

    [sms] = read_record(tmp_path / "orange-sms.jsonl")
    assert (sms["to"], sms["from"], sms["sender_name"]) == ("+221771234567", "+2210000", "Coko")
    assert sms["message"] == "Your Coko code: 482913"
    [push] = read_record(tmp_path / "fcm.jsonl")
    assert push["token"] == "device-token-1" and push["notification"] == {"title": "Coko", "body": "Bonjour"}
    assert push["data"] == {"url": "/inbox"}
    [web] = read_record(tmp_path / "webpush.jsonl")
    assert web["payload"] == {"title": "Coko", "body": "Salut", "data": {"url": "/inbox"}}  # decrypted
    assert web["subscription"] == subscription["endpoint"].rsplit("/", 1)[-1]

    for name, record in (("orange-sms", sms), ("fcm", push), ("webpush", web)):
        listing = httpx.get(f"{running.urls[name]}/_messages").json()
        assert listing["simulator"] == name and listing["messages"] == [record]
        assert listing["file"] == str(tmp_path / f"{name}.jsonl")


def test_a_configured_provider_gets_no_simulator():
    assert local.plan({"ORANGE_SMS_CLIENT_ID": "id", "FCM_SERVICE_ACCOUNT_FILE": "/etc/fcm.json",
                       "WEBPUSH_VAPID_PRIVATE_KEY": "key"}) == []
    assert local.plan({"TWILIO_ACCOUNT_SID": "AC1", "COKO_NOTIFY_PUSH_ADAPTER": "x.Y"}) == ["webpush"]
    assert local.plan({"COKO_SIMULATORS": "0"}) == []


def test_a_taken_port_stops_the_start_with_a_reason(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(RuntimeError, match="did not start"):
            local.start(["orange-sms"], tmp_path, ports={"orange-sms": taken.getsockname()[1]}, cwd=ROOT)


def test_twilio_records_each_accepted_sms_but_not_a_refused_one(tmp_path):
    with TwilioSimulator(record_to=tmp_path / "twilio.jsonl") as sim:
        auth = (sim.account_sid, sim.auth_token)
        url = f"{sim.url}/2010-04-01/Accounts/{sim.account_sid}/Messages.json"
        assert httpx.post(url, auth=auth, data={"To": "+221771234567", "From": "+15005550006", "Body": "123456"}).status_code == 201
        assert httpx.post(url, auth=auth, data={"To": "not-a-number", "From": "+15005550006", "Body": "x"}).status_code == 400
        [sms] = read_record(tmp_path / "twilio.jsonl")
        assert (sms["to"], sms["body"], sms["sid"]) == ("+221771234567", "123456", sim.sent[0]["sid"])
        assert httpx.get(f"{sim.url}/_messages").json()["messages"] == [sms]
        assert len(sim.requests) == 2  # the listing is not a provider call


def test_sendgrid_records_an_email_sent_through_the_email_adapter(settings, tmp_path):
    from coko.domains.notifications.channels import Outgoing
    from coko.domains.notifications.channels.email import EmailAdapter

    with SendGridSimulator(api_key="SG.test-key", record_to=tmp_path / "sendgrid.jsonl") as sim:
        settings.EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
        settings.ANYMAIL = {"SENDGRID_API_KEY": "SG.test-key", "SENDGRID_API_URL": sim.api_url}
        sent = EmailAdapter().send(Outgoing(to="awa@example.sn", subject="Bienvenue", text="Bonjour Awa",
                                            html="<p>Bonjour Awa</p>"))
        assert sent.provider == "sendgrid"
        [email] = read_record(tmp_path / "sendgrid.jsonl")
        assert (email["to"], email["subject"]) == (["awa@example.sn"], "Bienvenue")
        assert (email["text"], email["html"]) == ("Bonjour Awa", "<p>Bonjour Awa</p>")
        assert httpx.get(f"{sim.url}/_messages").json()["messages"] == [email]


def test_web_push_subscriptions_outlive_a_restart(tmp_path):
    from py_vapid import Vapid, b64urlencode
    from pywebpush import webpush

    vapid = Vapid()
    vapid.generate_keys()
    key = b64urlencode(vapid.private_key.private_numbers().private_value.to_bytes(32, "big"))
    keys_file = tmp_path / "webpush-subscriptions.json"
    with WebPushSimulator(keys_file=keys_file) as first:
        subscription = first.new_subscription()
        port = int(first.url.rsplit(":", 1)[1])
    with WebPushSimulator(port=port, keys_file=keys_file, record_to=tmp_path / "webpush.jsonl") as again:
        webpush(subscription_info=subscription, data='{"body": "still here"}', vapid_private_key=key,
                vapid_claims={"sub": "mailto:dev@coko.test"})
        [push] = again.messages
        assert push["payload"] == {"body": "still here"}
