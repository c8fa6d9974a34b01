"""Payments use cases (each one durable transaction writing state and outbox rows together).

Families: ``catalogue`` (the projections of sellable books and collections), ``orders`` (quote, settle, fail,
expire, refund: the purchase saga), ``passes`` (grant, cancel, lapse), ``codes`` (institution
access), ``ledger`` and ``receipts`` (inside the settling transaction).
"""

from ._shared import DB
from .catalogue import collection_apply, sellable_book_apply
from .idempotency import idempotent
from .checkout import (
    CONFIRM_ACTOR,
    EVENT_ACTOR,
    QUEUE_NAME,
    confirm_enqueue,
    event_enqueue,
    order_refund_with_provider,
    orders_expire,
    payment_confirm,
    payment_declined,
    payment_start,
    payments_poll,
    return_urls,
    webhook_receive,
)
from .codes import BATCH_MAX, NewBatch, code_batch_create, code_batch_make, code_normalise, code_redeem
from .ledger import Unbalanced, journal_post
from .orders import (
    Settlement,
    order_for_book,
    order_for_pass,
    order_expire,
    order_refund,
    orders_due,
    payment_open,
    payment_opened,
    payment_fail,
    payment_settle,
)
from .passes import pass_grant, subscription_cancel, subscriptions_lapse
from .receipts import receipt_issue
from .reconcile import Mismatch, reconcile
from .renewals import pass_ended, pass_grace, pass_renew, provider_event_process, subscription_cancel_with_provider

__all__ = [
    "BATCH_MAX",
    "CONFIRM_ACTOR",
    "DB",
    "EVENT_ACTOR",
    "Mismatch",
    "QUEUE_NAME",
    "NewBatch",
    "Settlement",
    "Unbalanced",
    "code_batch_create",
    "code_batch_make",
    "code_normalise",
    "code_redeem",
    "collection_apply",
    "confirm_enqueue",
    "event_enqueue",
    "idempotent",
    "journal_post",
    "order_for_book",
    "order_for_pass",
    "order_refund",
    "order_expire",
    "order_refund_with_provider",
    "orders_due",
    "orders_expire",
    "pass_ended",
    "pass_grace",
    "pass_grant",
    "pass_renew",
    "payment_confirm",
    "payment_declined",
    "payment_fail",
    "payment_open",
    "payment_opened",
    "payment_start",
    "payments_poll",
    "provider_event_process",
    "payment_settle",
    "receipt_issue",
    "reconcile",
    "return_urls",
    "sellable_book_apply",
    "subscription_cancel",
    "subscription_cancel_with_provider",
    "subscriptions_lapse",
    "webhook_receive",
]
