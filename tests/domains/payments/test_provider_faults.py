"""Faults between the provider's confirmation and the grant: nothing is lost, nothing is doubled.

- PostgreSQL goes away while settling: the worker's connection to it is really terminated
  (``pg_terminate_backend`` from another connection, just as ``payment_settle`` takes its first
  lock); the stored webhook stays unprocessed and the poll settles it once.
- A worker process is killed mid-saga: a real ``manage.py shell`` child runs ``payment_confirm``
  and is SIGKILLed while it waits for Wave's status answer (after the webhook was stored, before
  the grant); the poll finishes the saga, once.
- A web process dies between keeping a webhook and enqueueing its confirmation: the poll finds
  the stored, unprocessed event.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import OperationalError, close_old_connections, connections

from coko.domains.payments import services
from coko.domains.payments.models import Order, Payment, ProviderEvent, Purchase, Receipt
from coko.domains.payments.providers import Inbound
from coko.domains.payments.services.checkout import _event_keep

from .simulated import work_off

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")
ROOT = Path(__file__).resolve().parents[3]


def _bought_and_approved(reader, book, wave):
    order = reader.post("/payment/purchase", {"book_id": book["id"], "provider": "wave"}).data
    payment = Payment.objects.get(order_id=order["id"])
    return order, payment


def test_postgresql_going_away_while_granting_loses_nothing(reader, book_for_sale, wave):
    order, payment = _bought_and_approved(reader, book_for_sale, wave)
    killed = []

    def kill_own_backend(execute, sql, params, many, context):
        if not killed and "FOR UPDATE" in sql and "payments_payment" in sql:
            pid = context["connection"].connection.info.backend_pid
            with connections["default"].cursor() as other:
                other.execute("SELECT pg_terminate_backend(%s)", [pid])
            killed.append(pid)
        return execute(sql, params, many, context)

    wave.approve(payment.provider_ref)
    with connections["payments"].execute_wrapper(kill_own_backend):
        [(_name, _arg, error)] = work_off()
    assert killed and isinstance(error, OperationalError)
    close_old_connections()  # what the worker does after each message
    connections["payments"].close()
    assert Order.objects.get(id=order["id"]).status == "pending"
    assert ProviderEvent.objects.get().processed_at is None  # kept, to be processed again

    wave.clocks.advance(120)
    assert services.payments_poll() == 1
    work_off()
    assert Order.objects.get(id=order["id"]).status == "paid"
    assert Purchase.objects.count() == 1 and Receipt.objects.count() == 1
    assert ProviderEvent.objects.get().outcome == "granted"


def test_a_worker_killed_mid_saga_finishes_once(reader, book_for_sale, wave, django_db_setup, settings):
    order, payment = _bought_and_approved(reader, book_for_sale, wave)
    wave.webhooks.transport = None  # the webhook is kept below, as the route would
    wave.approve(payment.provider_ref)
    _event_keep(provider="wave", inbound=Inbound(event_id="EV_killed", event_type="checkout.session.completed",
                                                 reference=payment.reference, provider_ref=payment.provider_ref))
    asked = threading.Event()
    handle = wave.handle

    def noticing(req):
        if req.method == "GET" and req.path.startswith("/v1/checkout/sessions/cos-"):
            asked.set()
        return handle(req)

    wave.handle = noticing
    wave.stall_next(1)  # the child's status call is answered only once it is dead
    env = {**os.environ, **django_db_setup.child_env(), "PYTHONPATH": str(ROOT),
           "COKO_REDIS_NAMESPACE": settings.REDIS_NAMESPACE, "COKO_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",
           "WAVE_API_BASE": wave.url, "WAVE_API_KEY": wave.api_key, "WAVE_WEBHOOK_SECRET": wave.webhook_secret,
           "COKO_PAYMENTS_TIMEOUT_S": "60"}
    child = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c",
         f"from coko.domains.payments import services; services.payment_confirm(payment_id='{payment.id}')"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        assert asked.wait(60), "the worker never asked Wave"
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(30)
        wave.release_stalled()
    assert Order.objects.get(id=order["id"]).status == "pending"

    wave.clocks.advance(120)
    services.payments_poll()
    work_off()
    services.payments_poll()
    work_off()  # asked again: nothing more
    assert Order.objects.get(id=order["id"]).status == "paid"
    assert Purchase.objects.count() == 1 and Receipt.objects.count() == 1
    assert ProviderEvent.objects.get().outcome == "granted"


def test_a_webhook_kept_but_never_enqueued_is_found_by_the_poll(reader, book_for_sale, wave):
    order, payment = _bought_and_approved(reader, book_for_sale, wave)
    wave.webhooks.transport = None
    wave.approve(payment.provider_ref)
    _event_keep(provider="wave", inbound=Inbound(event_id="EV_orphan", event_type="checkout.session.completed",
                                                 reference=payment.reference))  # then the process died
    assert work_off() == []
    wave.clocks.advance(120)
    assert services.payments_poll() == 1
    work_off()
    assert Order.objects.get(id=order["id"]).status == "paid"
