"""SMS and push channel adapters against the loopback provider simulators (no database)."""

from __future__ import annotations

import json

import pytest

from coko.domains.notifications.channels import InvalidRecipient, Outgoing, PermanentFailure, Sent, TemporaryFailure
from coko.domains.notifications.channels.push import FcmPushAdapter, WebPushAdapter
from coko.domains.notifications.channels.sms import OrangeSmsAdapter, TwilioSmsAdapter
from coko.devtools.simulators import FcmSimulator, OrangeSmsSimulator, TwilioSimulator, WebPushSimulator

pytestmark = pytest.mark.usefixtures("outbound_loopback")  # the simulators listen on loopback

SN_NUMBER = "+221771234567"  # a valid Senegalese mobile number
CI_NUMBER = "+2250701020304"  # a valid Ivorian mobile number


def msg(to: str, text: str = "Votre code Coko : 123456", **kw) -> Outgoing:
    return Outgoing(to=to, subject=kw.pop("subject", "Coko"), text=text, **kw)


def send_with_retries(adapter, message: Outgoing, attempts: int = 5) -> tuple[Sent, list[TemporaryFailure]]:
    """What the worker does: retry on TemporaryFailure (backoff elided)."""
    failures: list[TemporaryFailure] = []
    for _ in range(attempts):
        try:
            return adapter.send(message), failures
        except TemporaryFailure as exc:
            failures.append(exc)
    raise AssertionError(f"still failing after {attempts} attempts: {failures}")


# ---------------------------------------------------------------------------- Orange


@pytest.fixture
def orange():
    with OrangeSmsSimulator(client_id="cid", client_secret="csecret") as sim:
        yield sim


@pytest.fixture
def orange_adapter(orange):
    return OrangeSmsAdapter(
        base_url=orange.url, client_id="cid", client_secret="csecret", sender="+2210000", sender_name="Coko"
    )


def test_orange_happy_path(orange, orange_adapter):
    sent = orange_adapter.send(msg(SN_NUMBER))

    assert sent.provider == "orange"
    assert sent.provider_id == orange.sent[0]["id"]
    call = orange.sms_calls()[0]
    assert call.raw_path == "/smsmessaging/v1/outbound/tel%3A%2B2210000/requests"
    assert call.json() == {
        "outboundSMSMessageRequest": {
            "address": f"tel:{SN_NUMBER}",
            "senderAddress": "tel:+2210000",
            "senderName": "Coko",
            "outboundSMSTextMessage": {"message": "Votre code Coko : 123456"},
        }
    }
    token_call = orange.token_calls()[0]
    assert token_call.headers["authorization"].startswith("Basic ")
    assert token_call.form() == {"grant_type": "client_credentials"}


def test_orange_caches_the_token(orange, orange_adapter):
    for _ in range(3):
        orange_adapter.send(msg(SN_NUMBER))

    assert len(orange.token_calls()) == 1
    assert len(orange.sms_calls()) == 3


def test_orange_refreshes_the_token_once_on_401(orange, orange_adapter):
    orange_adapter.send(msg(SN_NUMBER))
    orange.expire_tokens()

    sent = orange_adapter.send(msg(SN_NUMBER))

    assert sent.provider_id == orange.sent[-1]["id"]
    assert len(orange.token_calls()) == 2
    first, refused, retried = (r.headers["authorization"] for r in orange.sms_calls())
    assert refused == first != retried
    assert len(orange.sent) == 2


def test_orange_refreshes_when_the_token_expires(orange, orange_adapter):
    orange.token_ttl = 10  # shorter than the adapter's safety margin: never reused
    orange_adapter.send(msg(SN_NUMBER))
    orange_adapter.send(msg(SN_NUMBER))
    assert len(orange.token_calls()) == 2


def test_orange_bad_credentials_are_permanent(orange):
    adapter = OrangeSmsAdapter(base_url=orange.url, client_id="cid", client_secret="wrong", sender="+2210000")
    with pytest.raises(PermanentFailure) as info:
        adapter.send(msg(SN_NUMBER))
    assert not isinstance(info.value, InvalidRecipient)
    assert orange.sms_calls() == []


def test_orange_invalid_address_is_invalid_recipient(orange, orange_adapter):
    orange.invalid_numbers.add(CI_NUMBER)  # valid E.164, refused by the provider (SVC0004)
    with pytest.raises(InvalidRecipient, match="SVC0004"):
        orange_adapter.send(msg(CI_NUMBER))


def test_orange_policy_exception_is_permanent(orange, orange_adapter):
    orange.fail_next(1, status=403, body={"requestError": {"policyException": {
        "messageId": "POL0001", "text": "A policy error occurred. Error code is %1", "variables": "Expired contract"}}})
    with pytest.raises(PermanentFailure, match="POL0001") as info:
        orange_adapter.send(msg(SN_NUMBER))
    assert not isinstance(info.value, InvalidRecipient)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_orange_rate_limit_and_5xx_are_temporary(orange, orange_adapter, status):
    orange.fail_next(1, status=status, retry_after=7)
    with pytest.raises(TemporaryFailure) as info:
        orange_adapter.send(msg(SN_NUMBER))
    assert info.value.retry_after == 7


def test_orange_failing_twice_then_succeeding(orange, orange_adapter):
    orange.fail_next(2, status=503)
    sent, failures = send_with_retries(orange_adapter, msg(SN_NUMBER))
    assert len(failures) == 2
    assert sent.provider_id == orange.sent[0]["id"]
    assert len(orange.sent) == 1


@pytest.mark.parametrize("number", ["0771234567", "+221 12", "+999123456789", "not a number", ""])
def test_orange_invalid_number_makes_no_http_call(orange, orange_adapter, number):
    with pytest.raises(InvalidRecipient):
        orange_adapter.send(msg(number))
    assert orange.requests == []


def test_orange_unreachable_is_temporary():
    adapter = OrangeSmsAdapter(base_url="http://127.0.0.1:9", client_id="a", client_secret="b", sender="+2210000")
    with pytest.raises(TemporaryFailure):
        adapter.send(msg(SN_NUMBER))


# ---------------------------------------------------------------------------- Twilio


@pytest.fixture
def twilio_sim():
    with TwilioSimulator() as sim:
        yield sim


@pytest.fixture
def twilio_adapter(twilio_sim):
    return TwilioSmsAdapter(
        account_sid=twilio_sim.account_sid, auth_token=twilio_sim.auth_token, from_number="+15005550006",
        base_url=twilio_sim.url,
    )


def test_twilio_happy_path(twilio_sim, twilio_adapter):
    sent = twilio_adapter.send(msg(SN_NUMBER))

    assert sent == Sent(provider="twilio", provider_id=twilio_sim.sent[0]["sid"])
    assert sent.provider_id.startswith("SM")
    call = twilio_sim.message_calls()[0]
    assert call.path == f"/2010-04-01/Accounts/{twilio_sim.account_sid}/Messages.json"
    assert call.form() == {"To": SN_NUMBER, "From": "+15005550006", "Body": "Votre code Coko : 123456"}


def test_twilio_invalid_to_is_invalid_recipient(twilio_sim, twilio_adapter):
    twilio_sim.invalid_numbers.add(CI_NUMBER)
    with pytest.raises(InvalidRecipient, match="21211"):
        twilio_adapter.send(msg(CI_NUMBER))


def test_twilio_rate_limited_is_temporary(twilio_sim, twilio_adapter):
    twilio_sim.fail_next(1, status=429, retry_after=3)
    with pytest.raises(TemporaryFailure, match="20429") as info:
        twilio_adapter.send(msg(SN_NUMBER))
    assert info.value.retry_after == 3


def test_twilio_failing_twice_then_succeeding(twilio_sim, twilio_adapter):
    twilio_sim.fail_next(2, status=500)
    sent, failures = send_with_retries(twilio_adapter, msg(SN_NUMBER))
    assert len(failures) == 2
    assert sent.provider_id == twilio_sim.sent[0]["sid"]


def test_twilio_bad_credentials_are_permanent(twilio_sim):
    adapter = TwilioSmsAdapter(account_sid=twilio_sim.account_sid, auth_token="wrong", from_number="+15005550006",
                               base_url=twilio_sim.url)
    with pytest.raises(PermanentFailure, match="20003") as info:
        adapter.send(msg(SN_NUMBER))
    assert not isinstance(info.value, InvalidRecipient)


def test_twilio_invalid_number_makes_no_http_call(twilio_sim, twilio_adapter):
    with pytest.raises(InvalidRecipient):
        twilio_adapter.send(msg("+1 555"))
    assert twilio_sim.requests == []


# ---------------------------------------------------------------------------- FCM


@pytest.fixture(scope="module")
def rsa_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture
def fcm():
    with FcmSimulator(project_id="coko-test") as sim:
        yield sim


@pytest.fixture
def fcm_adapter(fcm, rsa_pem):
    info = {
        "type": "service_account",
        "project_id": "coko-test",
        "private_key_id": "k1",
        "private_key": rsa_pem,
        "client_email": "coko-push@coko-test.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": fcm.token_uri,
    }
    return FcmPushAdapter(service_account_info=info, base_url=fcm.url)


def test_fcm_happy_path(fcm, fcm_adapter):
    sent = fcm_adapter.send(msg("device-token-1", subject="Nouveau chapitre", text="Lisez la suite", data={"book": "42"}))

    assert sent.provider == "fcm"
    assert sent.provider_id == fcm.sent[0]["name"]
    assert sent.provider_id.startswith("projects/coko-test/messages/")
    assert fcm.send_calls()[0].json() == {"message": {
        "token": "device-token-1",
        "notification": {"title": "Nouveau chapitre", "body": "Lisez la suite"},
        "data": {"book": "42"},
    }}
    # One service-account JWT exchanged for one access token, reused.
    fcm_adapter.send(msg("device-token-1"))
    token_calls = fcm.calls("/token")
    assert len(token_calls) == 1
    assert token_calls[0].form()["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"


def test_fcm_unregistered_token_is_invalid_recipient(fcm, fcm_adapter):
    fcm.unregistered_tokens.add("stale")
    with pytest.raises(InvalidRecipient, match="UNREGISTERED"):
        fcm_adapter.send(msg("stale"))


def test_fcm_invalid_token_is_invalid_recipient(fcm, fcm_adapter):
    fcm.invalid_tokens.add("garbage")
    with pytest.raises(InvalidRecipient, match="INVALID_ARGUMENT"):
        fcm_adapter.send(msg("garbage"))


def test_fcm_invalid_argument_not_about_the_token_is_permanent(fcm, fcm_adapter):
    fcm.fail_next(1, status=400, body={"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Invalid value at 'message.android.ttl'", "details": [
        {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": "message.android.ttl"}]}]}})
    with pytest.raises(PermanentFailure) as info:
        fcm_adapter.send(msg("device-token-1"))
    assert not isinstance(info.value, InvalidRecipient)


@pytest.mark.parametrize(("status", "code"), [(429, "QUOTA_EXCEEDED"), (503, "UNAVAILABLE")])
def test_fcm_quota_and_unavailable_are_temporary(fcm, fcm_adapter, status, code):
    fcm.fail_next(1, status=status, retry_after=30)
    with pytest.raises(TemporaryFailure, match=code) as info:
        fcm_adapter.send(msg("device-token-1"))
    assert info.value.retry_after == 30


def test_fcm_failing_twice_then_succeeding(fcm, fcm_adapter):
    fcm.fail_next(2, status=503)
    sent, failures = send_with_retries(fcm_adapter, msg("device-token-1"))
    assert len(failures) == 2
    assert sent.provider_id == fcm.sent[0]["name"]


def test_fcm_refreshes_the_access_token_on_401(fcm, fcm_adapter):
    fcm_adapter.send(msg("device-token-1"))
    fcm.expire_tokens()
    sent = fcm_adapter.send(msg("device-token-1"))
    assert sent.provider_id == fcm.sent[-1]["name"]
    assert len(fcm.calls("/token")) == 2


# ---------------------------------------------------------------------------- Web Push


@pytest.fixture
def webpush_sim():
    with WebPushSimulator() as sim:
        yield sim


@pytest.fixture
def vapid_key() -> str:
    from py_vapid import Vapid, b64urlencode

    v = Vapid()
    v.generate_keys()
    return b64urlencode(v.private_key.private_numbers().private_value.to_bytes(32, "big"))


@pytest.fixture
def webpush_adapter(vapid_key):
    return WebPushAdapter(vapid_private_key=vapid_key, vapid_subject="mailto:ops@coko.test")


def test_webpush_happy_path_delivers_an_encrypted_payload(webpush_sim, webpush_adapter):
    subscription = webpush_sim.new_subscription()

    sent = webpush_adapter.send(msg(json.dumps(subscription), subject="Coko", text="Bonjour", data={"url": "/inbox"}))

    assert sent.provider == "webpush"
    received = webpush_sim.received[0]
    assert sent.provider_id == received["id"]
    assert json.loads(received["payload"]) == {"title": "Coko", "body": "Bonjour", "data": {"url": "/inbox"}}
    assert received["authorization"].startswith("vapid t=")
    assert b"Bonjour" not in webpush_sim.requests[0].body  # encrypted on the wire


def test_webpush_gone_subscription_is_invalid_recipient(webpush_sim, webpush_adapter):
    gone = webpush_sim.new_subscription(gone=True)
    with pytest.raises(InvalidRecipient, match="410"):
        webpush_adapter.send(msg(json.dumps(gone)))


def test_webpush_unknown_subscription_is_invalid_recipient(webpush_sim, webpush_adapter):
    subscription = webpush_sim.new_subscription()
    subscription["endpoint"] = webpush_sim.url + "/push/unknown"
    with pytest.raises(InvalidRecipient, match="404"):
        webpush_adapter.send(msg(json.dumps(subscription)))


def test_webpush_failing_twice_then_succeeding(webpush_sim, webpush_adapter):
    subscription = webpush_sim.new_subscription()
    webpush_sim.fail_next(2, status=503, retry_after=1)
    sent, failures = send_with_retries(webpush_adapter, msg(json.dumps(subscription)))
    assert [f.retry_after for f in failures] == [1, 1]
    assert sent.provider_id == webpush_sim.received[0]["id"]


@pytest.mark.parametrize("to", ["not json", json.dumps({"endpoint": "http://x"}), json.dumps([1])])
def test_webpush_malformed_subscription_makes_no_http_call(webpush_sim, webpush_adapter, to):
    with pytest.raises(InvalidRecipient):
        webpush_adapter.send(msg(to))
    assert webpush_sim.requests == []
