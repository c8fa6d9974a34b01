"""What a sign-up tells the address's holder, through the real path: the accounts event, the
notifications handler, the delivery worker, a real SMTP server or the SMS provider simulator.

A new address is sent its code (in the language chosen at the start, to an address with no
account: no inbox); the owner of a taken address is told someone tried, in their language,
and is sent no code.
"""

from __future__ import annotations

import pytest

from coko.devtools.testing.api import PASSWORD, client_address
from coko.devtools.testing.events import deliver_pending, outbox_events

from .conftest import Api, deliver_all, model, register
from .test_providers import SN_NUMBER, orange  # noqa: F401 - the SMS simulator, reused

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
TOLD = "Tentative d'inscription sur Coko avec votre adresse"


def deliver_sign_up_messages() -> None:
    """What the relay and the worker do with accounts' sign-up events."""
    deliver_pending(producer="accounts", handler="notifications.send_signup_code")
    deliver_pending(producer="accounts", handler="notifications.warn_signup_address_taken")
    deliver_all()


def test_a_new_address_receives_its_code_by_email_and_the_code_opens_the_account(smtp):
    client = Api(ip=client_address())
    started = client.post("/auth/register/start", {"email": "ghost@example.sn", "preferred_language": "en"})
    assert started.status_code == 202
    deliver_sign_up_messages()
    [message] = smtp.to("ghost@example.sn")
    assert message["Subject"].startswith("Your Coko sign-up code: ")
    code = message["Subject"].rsplit(" ", 1)[-1]
    assert code in message.get_body(("plain",)).get_content()
    notification = model("Notification").objects.get(template="signup_code")
    assert notification.user_id is None and notification.category == "security"
    assert "code" not in notification.context  # kept encrypted, decrypted to render
    assert model("InboxItem").objects.count() == 0  # nobody's inbox: there is no account yet

    response = client.post("/auth/register", {"email": "ghost@example.sn", "code": code, "password": PASSWORD})
    assert response.status_code == 201 and response.data["user"]["email_verified"] is True


def test_the_owner_of_a_taken_email_is_told_someone_tried_and_is_sent_no_code(smtp):
    register(Api(), email="awa@example.sn", display_name="Awa", preferred_language="fr")
    deliver_sign_up_messages()
    [own_code] = smtp.to("awa@example.sn")  # Awa's own sign-up
    assert Api(ip=client_address()).post("/auth/register/start",
                                         {"email": "awa@example.sn", "preferred_language": "en"}).status_code == 202
    deliver_sign_up_messages()
    own, told = smtp.to("awa@example.sn")
    assert own["Message-ID"] == own_code["Message-ID"]
    assert told["Subject"] == TOLD  # the owner's language, not the stranger's
    text = told.get_body(("plain",)).get_content()
    assert "Bonjour Awa" in text and "réinitialisez votre mot de passe" in text
    assert not any(ch.isdigit() for ch in told["Subject"] + text)  # no code in it
    assert model("Notification").objects.get(template="signup_address_taken").user_id is not None


@pytest.mark.usefixtures("outbound_loopback")
def test_by_sms_a_new_number_gets_its_code_and_a_taken_one_s_owner_is_told(orange):  # noqa: F811
    assert Api(ip=client_address()).post("/auth/register/start",
                                         {"phone": "+221 77 765 43 21", "preferred_language": "en"}).status_code == 202
    register(Api(), phone=SN_NUMBER, display_name="Awa")
    assert Api(ip=client_address()).post("/auth/register/start", {"phone": SN_NUMBER}).status_code == 202
    assert len(outbox_events("accounts", "signup.code_requested")) == 2  # the stranger's, Awa's own
    deliver_sign_up_messages()
    by_number = {}
    for sms in orange.sent:
        by_number.setdefault(sms["to"], []).append(sms["message"])
    [code_message] = by_number["+221777654321"]
    assert code_message.startswith("Your Coko sign-up code is ")
    own_code, told = by_number[SN_NUMBER]
    assert own_code.startswith("Votre code d'inscription Coko est ")
    assert told.startswith("Bonjour Awa, quelqu'un a tenté de créer un compte Coko avec votre adresse")
