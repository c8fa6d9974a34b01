"""Loopback simulators of Coko's outside providers, one module per provider.

=============  ==========================  ============  ===========================
name           class                       make run port  module
=============  ==========================  ============  ===========================
orange-sms     ``OrangeSmsSimulator``      9101          ``orange_sms``
twilio         ``TwilioSimulator``         (tests only)  ``twilio``
fcm            ``FcmSimulator``            9103          ``fcm``
webpush        ``WebPushSimulator``        9104          ``webpush``
sendgrid       ``SendGridSimulator``       (tests only)  ``sendgrid``
wave           ``WaveSimulator``           9105          ``wave``
orange-money   ``OrangeMoneySimulator``    9106          ``orange_money``
stripe         ``StripeSimulator``         9107          ``stripe``
=============  ==========================  ============  ===========================

Each is a real HTTP server speaking its provider's protocol (``base.Simulator``): tests
script it (``fail_next``, ``invalid_numbers`` …) and read what the real adapter sent;
the payment providers' simulators also serve an approve / decline page and send signed
webhooks whose faults a test scripts (``payments_kit``);
``make run`` starts the ones whose provider is not configured (``local``) and each records
what it accepted in ``var/simulators/<name>.jsonl`` and at ``GET /_messages``.
Development only: nothing in ``coko/domains`` or the production image imports this.
"""

from __future__ import annotations

from .base import Answer, RecordedRequest, Simulator, read_record
from .fcm import FcmSimulator
from .orange_money import OrangeMoneySimulator
from .orange_sms import OrangeSmsSimulator
from .payments_kit import Clock, PaymentSimulator, WebhookOutbox
from .sendgrid import SendGridSimulator
from .stripe import StripeSimulator
from .twilio import TwilioSimulator
from .wave import WaveSimulator
from .webpush import WebPushSimulator

SIMULATORS: dict[str, type[Simulator]] = {
    cls.name: cls
    for cls in (OrangeSmsSimulator, TwilioSimulator, FcmSimulator, WebPushSimulator, SendGridSimulator,
                WaveSimulator, OrangeMoneySimulator, StripeSimulator)
}

__all__ = [
    "SIMULATORS",
    "Answer",
    "Clock",
    "FcmSimulator",
    "OrangeMoneySimulator",
    "OrangeSmsSimulator",
    "PaymentSimulator",
    "RecordedRequest",
    "SendGridSimulator",
    "Simulator",
    "StripeSimulator",
    "TwilioSimulator",
    "WaveSimulator",
    "WebPushSimulator",
    "WebhookOutbox",
    "read_record",
]
