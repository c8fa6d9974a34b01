"""Payments use cases (each one durable transaction writing state and outbox rows together).

Families: ``catalogue`` (the projection of sellable books), ``orders`` (quote, settle, fail,
expire, refund: the purchase saga), ``passes`` (grant, cancel, lapse), ``codes`` (institution
access), ``ledger`` and ``receipts`` (inside the settling transaction).
"""

from ._shared import DB
from .catalogue import sellable_book_apply
from .idempotency import idempotent
from .checkout import (
    CONFIRM_ACTOR,
    QUEUE_NAME,
    confirm_enqueue,
    order_refund_with_provider,
    payment_confirm,
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
    order_refund,
    payment_open,
    payment_opened,
    orders_expire,
    payment_fail,
    payment_settle,
)
from .passes import pass_grant, subscription_cancel, subscriptions_lapse
from .receipts import receipt_issue

__all__ = [
    "BATCH_MAX",
    "CONFIRM_ACTOR",
    "DB",
    "QUEUE_NAME",
    "NewBatch",
    "Settlement",
    "Unbalanced",
    "code_batch_create",
    "code_batch_make",
    "code_normalise",
    "code_redeem",
    "confirm_enqueue",
    "idempotent",
    "journal_post",
    "order_for_book",
    "order_for_pass",
    "order_refund",
    "order_refund_with_provider",
    "orders_expire",
    "pass_grant",
    "payment_confirm",
    "payment_fail",
    "payment_open",
    "payment_opened",
    "payment_start",
    "payments_poll",
    "payment_settle",
    "receipt_issue",
    "return_urls",
    "sellable_book_apply",
    "subscription_cancel",
    "subscriptions_lapse",
    "webhook_receive",
]
