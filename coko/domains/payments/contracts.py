"""Frozen data the payments domain shares: facade results and event payloads.

No Django imports here: contracts must be importable by an extracted service.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from coko.platform import money
from coko.platform.contracts import EventPayload

# --- vocabularies ---------------------------------------------------------------------------------
#: The currencies plans are priced in and orders are paid in (XOF first).
CURRENCIES = money.CURRENCIES
#: The catalogue's access models (mirrored: contracts import no other domain).
ACCESS_MODELS = ("free", "subscription", "sale")
#: How long a pass lasts.
PERIODS = ("day", "week", "month", "year")
#: What a plan opens: every book of the subscription model, or the books of one collection.
SCOPES = ("subscription", "collection")
#: Who takes the money.
PROVIDERS = ("orange_money", "wave", "stripe")
#: What an order buys.
ORDER_KINDS = ("pass", "book")
#: An order's life: pending until paid (or cancelled / expired); a paid order may be refunded.
ORDER_STATES = ("pending", "paid", "cancelled", "expired", "refunded")
#: A payment attempt's life at its provider (facts: ../shared/specs/payments.md).
PAYMENT_STATES = ("pending", "processing", "succeeded", "failed", "expired", "canceled", "refunded")
#: A pass's life: pending → active → grace → expired, or cancelled (active to the end of its period).
SUBSCRIPTION_STATES = ("pending", "active", "grace", "cancelled", "expired")
#: Why a reader may (or may not) read a book: the ``reason`` of :class:`Access`.
ACCESS_REASONS = ("free", "purchase", "pass", "institution",  # allowed
                  "unknown_book", "withdrawn", "no_entitlement",  # refused
                  "outside_pass_scope")  # refused: the reader's passes open other books (another collection)


# --- facade results -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Access:
    """``payments.api.has_access``: may this reader read this book, why, and until when
    (``until`` None: for good, or for as long as the book is free)."""

    allowed: bool
    reason: str
    until: datetime | None = None


@dataclass(frozen=True)
class Entitlement:
    """One thing a reader may read: a purchased book (``book_id``) or a pass (``plan_slug``)."""

    kind: str  # "purchase" | "pass" | "institution"
    book_id: str | None
    plan_slug: str | None
    starts_at: datetime
    ends_at: datetime | None


# --- events payments publishes (payload version 1) ----------------------------------------------
PAYMENT_COMPLETED = "payment.completed"
BOOK_PURCHASED = "book.purchased"
SUBSCRIPTION_ACTIVATED = "subscription.activated"
SUBSCRIPTION_EXPIRING = "subscription.expiring"
SUBSCRIPTION_EXPIRED = "subscription.expired"
ENTITLEMENT_REVOKED = "entitlement.revoked"


@dataclass(frozen=True)
class PaymentCompleted(EventPayload):
    """``payment.completed``: an order was paid; the money is in the ledger."""

    order_id: str
    user_id: str
    kind: str  # "pass" | "book"
    provider: str
    amount: int  # integer minor units
    currency: str
    receipt_number: str = ""
    #: What was bought, as the receipt names it in French and in English (a pass's name, a book's title).
    item_fr: str = ""
    item_en: str = ""


@dataclass(frozen=True)
class BookPurchased(EventPayload):
    """``book.purchased``: ``user_id`` may now read ``book_id`` for good."""

    order_id: str
    user_id: str
    book_id: str
    amount: int
    currency: str


@dataclass(frozen=True)
class SubscriptionActivated(EventPayload):
    """``subscription.activated``: a pass is on (bought, renewed, stacked or redeemed) until ``ends_at``."""

    subscription_id: str
    user_id: str
    plan_slug: str
    scope: str
    ends_at: datetime
    source: str  # "order" | "code" | "stripe"


@dataclass(frozen=True)
class SubscriptionExpiring(EventPayload):
    """``subscription.expiring``: a prepaid pass (it does not renew by itself) ends at ``ends_at``;
    notifications reminds the reader."""

    subscription_id: str
    user_id: str
    plan_slug: str
    ends_at: datetime


@dataclass(frozen=True)
class SubscriptionExpired(EventPayload):
    """``subscription.expired``: a pass (and its grace) is over."""

    subscription_id: str
    user_id: str
    plan_slug: str


@dataclass(frozen=True)
class EntitlementRevoked(EventPayload):
    """``entitlement.revoked``: a refund took back a book or a pass."""

    user_id: str
    order_id: str
    book_id: str | None = None
    subscription_id: str | None = None


EVENTS: dict[str, type[EventPayload]] = {
    PAYMENT_COMPLETED: PaymentCompleted,
    BOOK_PURCHASED: BookPurchased,
    SUBSCRIPTION_ACTIVATED: SubscriptionActivated,
    SUBSCRIPTION_EXPIRING: SubscriptionExpiring,
    SUBSCRIPTION_EXPIRED: SubscriptionExpired,
    ENTITLEMENT_REVOKED: EntitlementRevoked,
}
