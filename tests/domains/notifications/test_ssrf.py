"""Issue 10, "outbound requests are not an SSRF door", for notifications.

The attack: a reader registers a web push "subscription" whose endpoint is an internal address
(the cloud metadata service at 169.254.169.254, a loopback admin port, a name of an allowed
push service that resolves to a private address), and the worker POSTs to it on every
notification — a server-side request forgery with the platform's network position. Every such
subscription is refused at ``POST /notifications/subscribe`` with nothing stored, and the
worker refuses the same destinations at send time (for anything stored before), while a
simulator host named by ``COKO_OUTBOUND_ALLOWED_HOSTS`` still works.
"""

from __future__ import annotations

import ipaddress
import json

import pytest

from coko.devtools.simulators import FcmSimulator, OrangeSmsSimulator, TwilioSimulator
from coko.domains.notifications.channels import PermanentFailure
from coko.domains.notifications.channels.push import FcmPushAdapter
from coko.domains.notifications.channels.sms import OrangeSmsAdapter, TwilioSmsAdapter
from coko.platform import outbound

from .conftest import Api, model, register
from .test_providers import ADAPTERS, _adapters, _push_welcome, redeliveries, run_actor, webpush  # noqa: F401 (fixtures)

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

KEYS = {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",
        "auth": "tBHItJI5svbpez7KI4CCXg"}


@pytest.fixture
def no_outbound_allowance(settings):
    """Production's default: no host may be private."""
    settings.COKO_OUTBOUND_ALLOWED_HOSTS = []


@pytest.fixture
def resolver(monkeypatch):
    """A test DNS: names in ``answers`` resolve to the given address, others as the system says."""
    answers: dict[str, str] = {}
    real = outbound._resolve

    def resolve(host, port):
        if host in answers:
            return [ipaddress.ip_address(answers[host])]
        return real(host, port)

    monkeypatch.setattr(outbound, "_resolve", resolve)
    return answers


def _subscribe(api: Api, endpoint: str):
    return api.post("/notifications/subscribe", {"kind": "webpush", "token": {"endpoint": endpoint, "keys": KEYS}})


@pytest.mark.usefixtures("no_outbound_allowance")
@pytest.mark.parametrize("endpoint,reason", [
    ("http://127.0.0.1:8000/admin/", "scheme"),                       # loopback, plain http
    ("https://127.0.0.1:6379/", "host"),                              # loopback Redis, https
    ("https://169.254.169.254/latest/meta-data/iam/", "host"),        # the cloud metadata service
    ("https://[::ffff:169.254.169.254]/latest/", "host"),             # the same, in IPv6 clothes
    ("https://10.0.0.5/push/x", "host"),                              # a private address
    ("https://fcm.googleapis.com.evil.example/push/x", "host"),       # a look-alike name
    ("https://user:pw@fcm.googleapis.com/push/x", "host"),            # credentials in the URL
    ("ftp://fcm.googleapis.com/push/x", "scheme"),
])
def test_a_web_push_endpoint_off_the_push_services_is_refused_and_nothing_stored(api, endpoint, reason):
    register(api, email="awa@example.sn")
    response = _subscribe(api, endpoint)
    assert response.status_code == 422, response.data
    if endpoint.startswith("ftp:"):  # not even the shape of a subscription
        assert response.data["error"]["code"] == "invalid_device_token"
    else:
        assert response.data["error"]["code"] == "push_endpoint_refused"
        assert response.data["error"]["details"] == {"kind": "webpush", "reason": reason}
    assert not model("DeviceToken").objects.exists()


@pytest.mark.usefixtures("no_outbound_allowance")
def test_an_allowed_push_service_name_that_resolves_to_a_private_address_is_refused(api, settings, resolver):
    register(api, email="awa@example.sn")
    # A name under an allowed push service whose DNS answers the metadata address (a test resolver) …
    resolver["evil.push.apple.com"] = "169.254.169.254"
    response = _subscribe(api, "https://evil.push.apple.com/3/device/abc")
    assert response.status_code == 422
    assert response.data["error"]["details"] == {"kind": "webpush", "reason": "address"}
    # … and a host an operator added to the push services that the real resolver sends to loopback.
    settings.COKO_WEBPUSH_ALLOWED_HOSTS = [*settings.COKO_WEBPUSH_ALLOWED_HOSTS, "localhost"]
    response = _subscribe(api, "https://localhost/push/abc")
    assert response.status_code == 422
    assert response.data["error"]["details"] == {"kind": "webpush", "reason": "address"}
    assert not model("DeviceToken").objects.exists()


@pytest.mark.usefixtures("no_outbound_allowance")
def test_the_refusal_speaks_french(api):
    register(api, email="awa@example.sn")
    response = api.post("/notifications/subscribe",
                        {"kind": "webpush", "token": {"endpoint": "https://169.254.169.254/x", "keys": KEYS}},
                        HTTP_ACCEPT_LANGUAGE="fr")
    assert response.status_code == 422
    assert "service de notification reconnu" in response.data["error"]["message"]


def test_an_allowed_push_service_endpoint_is_accepted(api, resolver, settings):
    settings.COKO_OUTBOUND_ALLOWED_HOSTS = []
    register(api, email="awa@example.sn")
    resolver["updates.push.services.mozilla.com"] = "34.117.0.1"  # a public address
    for endpoint in ("https://updates.push.services.mozilla.com/wpush/v2/abc",
                     "https://web.push.apple.com/QGf3x", "https://wns2-par02p.notify.windows.com/w/?token=x"):
        assert _subscribe(api, endpoint).status_code == 201, endpoint
    assert model("DeviceToken").objects.count() == 3


def test_a_simulator_host_allowed_by_the_setting_subscribes_and_receives(api, settings, webpush, redeliveries):
    host = webpush.url.removeprefix("http://")
    subscription = webpush.new_subscription()
    user_id = register(api, email="awa@example.sn", preferred_language="en")

    settings.COKO_OUTBOUND_ALLOWED_HOSTS = []
    refused = api.post("/notifications/subscribe", {"kind": "webpush", "token": subscription})
    assert refused.status_code == 422 and refused.data["error"]["details"]["reason"] == "scheme"

    settings.COKO_OUTBOUND_ALLOWED_HOSTS = [host]  # what make run sets for its simulators
    assert api.post("/notifications/subscribe", {"kind": "webpush", "token": subscription}).status_code == 201
    delivery = _push_welcome(user_id, "ssrf:1", channel="webpush")
    run_actor(delivery.id)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.provider) == ("sent", "webpush")
    assert len(webpush.received) == 1


def test_a_stored_subscription_to_an_internal_address_is_refused_at_send_time(api, settings, webpush,
                                                                              redeliveries):
    """A subscription stored before the check (or by a bug) gets no request: the worker's
    connection is checked too, and the subscription is dropped."""
    settings.COKO_OUTBOUND_ALLOWED_HOSTS = []
    user_id = register(api, email="awa@example.sn", preferred_language="en")
    subscription = webpush.new_subscription()  # http://127.0.0.1:<port>/push/<id>
    model("DeviceToken").objects.create(user_id=user_id, kind="webpush", token=json.dumps(subscription))
    delivery = _push_welcome(user_id, "ssrf:2", channel="webpush")
    run_actor(delivery.id)
    delivery.refresh_from_db()
    assert delivery.status == "failed" and redeliveries == []
    assert webpush.requests == [] and webpush.received == []
    assert not model("DeviceToken").objects.exists()


# --- every provider adapter goes through the same door --------------------------------------------
@pytest.mark.usefixtures("no_outbound_allowance")
def test_sms_and_fcm_providers_on_internal_addresses_get_no_request():
    """A provider URL pointed (by a mistaken or hostile configuration) at an internal service
    gets no request: a permanent failure, not a retry loop against the internal host."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    with OrangeSmsSimulator(client_id="cid", client_secret="cs") as orange:
        adapter = OrangeSmsAdapter(base_url=orange.url, client_id="cid", client_secret="cs", sender="+2210000")
        with pytest.raises(PermanentFailure, match="not a public address"):
            adapter.send(_msg("+221771234567"))
        assert orange.requests == []
    with TwilioSimulator() as twilio:
        adapter = TwilioSmsAdapter(account_sid="AC" + "0" * 32, auth_token="t", from_number="+15005550006",
                                   base_url=twilio.url)
        with pytest.raises(PermanentFailure, match="not a public address"):
            adapter.send(_msg("+221771234567"))
        assert twilio.requests == []
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    with FcmSimulator(project_id="p") as fcm:
        info = {"type": "service_account", "project_id": "p", "private_key_id": "k", "private_key": pem,
                "client_email": "a@p.iam.gserviceaccount.com", "client_id": "1", "token_uri": fcm.token_uri}
        adapter = FcmPushAdapter(service_account_info=info, base_url=fcm.url)
        with pytest.raises(PermanentFailure, match="not a public address"):  # google-auth's token request
            adapter.send(_msg("device-token"))
        assert fcm.requests == []


def _msg(to: str):
    from coko.domains.notifications.channels import Outgoing

    return Outgoing(to=to, subject="s", text="t")

