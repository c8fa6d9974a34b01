"""Payments tests: real PostgreSQL (the ledger's triggers), the catalogue's real events."""

from __future__ import annotations

import pytest

from coko.domains.accounts.testing import user_with_roles


@pytest.fixture
def reader():
    return user_with_roles()


@pytest.fixture
def author():
    return user_with_roles("author")


@pytest.fixture
def anonymous_api():
    from coko.domains.accounts.testing import anonymous

    return anonymous()


# --- the provider simulators over loopback (test_provider_*.py) --------------------------------------
@pytest.fixture
def payments_live(settings, clock):
    """Providers on, the payments queue empty, short provider timeouts (a stalled call gives
    up in a fraction of a second), loopback allowed as an outbound destination."""
    from coko.domains.payments import providers

    from .simulated import queue_flush

    settings.COKO_OUTBOUND_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.COKO_PAYMENTS = {**settings.COKO_PAYMENTS, "TIMEOUT_S": 0.4,
                              "PUBLIC_URL": "http://testserver"}
    settings.WAVE_API_KEY = settings.ORANGE_MONEY_CLIENT_ID = settings.STRIPE_SECRET_KEY = ""
    providers.reset()
    queue_flush()
    yield settings
    providers.reset()
    queue_flush()


@pytest.fixture
def webhooks():
    from .simulated import Webhooks

    return Webhooks()


@pytest.fixture
def book_for_sale(author):
    from coko.domains.catalog.testing import published_book
    from coko.domains.payments.testing import sellable_books_sync

    book = published_book(author, access_model="sale", price_amount=1500, price_currency="XOF")
    sellable_books_sync()
    return book


@pytest.fixture
def week_plan():
    from coko.domains.payments.testing import plan_for_test

    return plan_for_test("week", period="week", prices={"XOF": 500, "EUR": 100})


@pytest.fixture
def wave(payments_live, webhooks, clock):
    from coko.devtools.simulators import WaveSimulator
    from coko.domains.payments import providers

    from .simulated import Clocks

    with WaveSimulator(webhook_url="http://testserver/api/v1/payment/webhooks/wave") as sim:
        sim.webhooks.transport = webhooks
        sim.clock.set(clock.time())
        sim.clocks = Clocks(clock, sim.clock)
        settings = payments_live
        settings.WAVE_API_BASE, settings.WAVE_API_KEY, settings.WAVE_WEBHOOK_SECRET = (
            sim.url, sim.api_key, sim.webhook_secret)
        providers.reset()
        yield sim


@pytest.fixture
def orange(payments_live, webhooks, clock):
    from coko.devtools.simulators import OrangeMoneySimulator
    from coko.domains.payments import providers

    from .simulated import Clocks

    with OrangeMoneySimulator() as sim:
        sim.webhooks.transport = webhooks
        sim.clock.set(clock.time())
        sim.clocks = Clocks(clock, sim.clock)
        settings = payments_live
        settings.ORANGE_MONEY_API_BASE, settings.ORANGE_MONEY_CLIENT_ID = sim.url, sim.client_id
        settings.ORANGE_MONEY_CLIENT_SECRET, settings.ORANGE_MONEY_MERCHANT_KEY = sim.client_secret, sim.merchant_key
        settings.ORANGE_MONEY_COUNTRY = "sn"
        settings.ORANGE_MONEY_NOTIF_URL = "http://testserver/api/v1/payment/webhooks/orange-money"
        providers.reset()
        yield sim


@pytest.fixture
def stripe_sim(payments_live, webhooks, clock):
    from coko.devtools.simulators import StripeSimulator
    from coko.domains.payments import providers

    from .simulated import Clocks

    with StripeSimulator(webhook_url="http://testserver/api/v1/payment/webhooks/stripe") as sim:
        sim.webhooks.transport = webhooks
        sim.clock.set(clock.time())
        sim.clocks = Clocks(clock, sim.clock)
        settings = payments_live
        settings.STRIPE_API_BASE, settings.STRIPE_SECRET_KEY = sim.url, sim.secret_key
        settings.STRIPE_WEBHOOK_SECRET = sim.webhook_secret
        providers.reset()
        yield sim
