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
    names = local.plan({"WAVE_API_KEY": "k", "ORANGE_MONEY_CLIENT_ID": "i", "STRIPE_SECRET_KEY": "sk"})
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
                       "WEBPUSH_VAPID_PRIVATE_KEY": "key", "WAVE_API_KEY": "k", "ORANGE_MONEY_CLIENT_ID": "i",
                       "STRIPE_SECRET_KEY": "sk"}) == []
    assert local.plan({})[-3:] == ["wave", "orange-money", "stripe"]
    assert local.plan({"TWILIO_ACCOUNT_SID": "AC1", "COKO_NOTIFY_PUSH_ADAPTER": "x.Y", "WAVE_API_KEY": "k",
                       "STRIPE_SECRET_KEY": "sk"}) == ["webpush", "orange-money"]
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


def test_make_run_s_payment_simulators_pay_through_their_pages_and_send_webhooks_to_coko(tmp_path):
    """The three payment simulators as ``make run`` starts them: the settings it gives Coko
    reach them, and each payment approved on a simulator's page is announced to Coko's
    webhook route for that provider (here a stand-in listening where Coko would)."""
    import stripe

    from tests.devtools.payment_receiver import Receiver

    with Receiver() as coko:
        names = ["wave", "orange-money", "stripe"]
        running = local.start(names, tmp_path, ports=dict.fromkeys(names, 0), cwd=ROOT, web_url=coko.url)
        try:
            env = local.settings_env(running.urls, tmp_path, {}, web_url=coko.url)
            assert env["WAVE_API_BASE"] == running.urls["wave"] and env["STRIPE_API_BASE"] == running.urls["stripe"]
            assert env["ORANGE_MONEY_NOTIF_URL"] == f"{coko.url}/api/v1/payment/webhooks/orange-money"

            wave = httpx.post(f"{env['WAVE_API_BASE']}/v1/checkout/sessions", headers={
                "Authorization": f"Bearer {env['WAVE_API_KEY']}"}, json={
                "amount": "150", "currency": "XOF", "success_url": "https://coko.test/ok",
                "error_url": "https://coko.test/ko"}).json()
            assert httpx.post(wave["wave_launch_url"], data={"decision": "approve"}).status_code == 303

            om = env["ORANGE_MONEY_API_BASE"]
            bearer = httpx.post(f"{om}/oauth/v3/token", data={"grant_type": "client_credentials"}, auth=(
                env["ORANGE_MONEY_CLIENT_ID"], env["ORANGE_MONEY_CLIENT_SECRET"])).json()["access_token"]
            orange = httpx.post(f"{om}/orange-money-webpay/{env['ORANGE_MONEY_COUNTRY']}/v1/webpayment",
                                headers={"Authorization": f"Bearer {bearer}"}, json={
                                    "merchant_key": env["ORANGE_MONEY_MERCHANT_KEY"], "currency": "OUV",
                                    "order_id": "order-1", "amount": 150, "return_url": "https://coko.test/ok",
                                    "cancel_url": "https://coko.test/ko", "notif_url": env["ORANGE_MONEY_NOTIF_URL"],
                                    "lang": "fr", "reference": "Coko"}).json()
            assert httpx.post(orange["payment_url"], data={"decision": "approve"}).status_code == 303

            client = stripe.StripeClient(env["STRIPE_SECRET_KEY"], base_addresses={"api": env["STRIPE_API_BASE"]})
            session = client.v1.checkout.sessions.create(params={
                "mode": "payment", "success_url": "https://coko.test/ok", "line_items": [{"quantity": 1, "price_data": {
                    "currency": "xof", "unit_amount": 150, "product_data": {"name": "Pass jour"}}}]})
            assert httpx.post(session.url, data={"decision": "approve"}).status_code == 303
        finally:
            os.killpg(running.process.pid, signal.SIGTERM)
            assert running.process.wait(10) == 0

        by_route: dict[str, list[dict]] = {}
        for request in coko.requests:
            by_route.setdefault(request.path.rsplit("/", 1)[1], []).append(request.json())
        assert [e["type"] for e in by_route["wave"]] == ["checkout.session.completed"]
        assert by_route["orange-money"][0]["status"] == "SUCCESS"
        assert by_route["stripe"][-1]["type"] == "checkout.session.completed"
        assert [line["type"] for line in read_record(tmp_path / "wave.jsonl")] == ["checkout.session.completed"]
