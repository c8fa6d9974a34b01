"""Payments tables, all in the PostgreSQL schema ``payments``.

Readers are accounts' and books are the catalogue's: ``user_id`` and ``book_id`` are plain
UUIDs, never foreign keys. Money is integer minor units with its ISO 4217 code.
"""

from __future__ import annotations

import uuid

import pgtrigger
from django.db import models
from django.utils import timezone

from coko.platform.crypto import EncryptedTextField
from coko.platform.events.models import DeadLetterBase, InboxEntryBase, OutboxEventBase

from .contracts import (
    ACCESS_MODELS,
    CURRENCIES,
    ORDER_KINDS,
    ORDER_STATES,
    PAYMENT_STATES,
    PERIODS,
    PROVIDERS,
    SCOPES,
    SUBSCRIPTION_STATES,
)


def _choices(values):
    return [(v, v) for v in values]


class OutboxEvent(OutboxEventBase):
    """Events the payments domain publishes, written in the same transaction as its state."""


class InboxEntry(InboxEntryBase):
    """Events the payments domain's handlers have applied (or parked): each takes effect once."""


class DeadLetter(DeadLetterBase):
    """Events a payments handler failed on after every retry; staff replay them."""


# --- what is for sale -------------------------------------------------------------------------------
class SellableBook(models.Model):
    """The catalogue's books as payments sees them, projected from ``book.*`` events.

    ``catalog_version`` is the version of the event last applied: an older copy is ignored.
    """

    book_id = models.UUIDField(primary_key=True)
    title = models.CharField(max_length=500)
    status = models.CharField(max_length=12)  # the catalogue's: draft | published | withdrawn
    access_model = models.CharField(max_length=12, choices=_choices(ACCESS_MODELS))
    price_amount = models.PositiveBigIntegerField(null=True, blank=True)
    price_currency = models.CharField(max_length=3, null=True, blank=True)
    catalog_version = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.title


class CatalogCollection(models.Model):
    """A catalogue collection as payments sees it, projected from ``collection.*`` events: what a
    plan of scope ``collection`` opens. ``catalog_version`` is the version of the event last
    applied (an older copy is ignored); a deleted collection stays as a marker, without books."""

    collection_id = models.UUIDField(primary_key=True)
    slug = models.SlugField(max_length=80, db_index=True)
    deleted = models.BooleanField(default=False)
    catalog_version = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.slug


class CollectionBook(models.Model):
    """A book of a projected collection."""

    id = models.BigAutoField(primary_key=True)
    collection = models.ForeignKey(CatalogCollection, on_delete=models.CASCADE, related_name="books")
    book_id = models.UUIDField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["collection", "book_id"], name="payments_collection_book_once")]


class Plan(models.Model):
    """A pass: a period of reading, priced per currency, opening a scope of the catalogue."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=40, unique=True)
    names = models.JSONField(default=dict)  # {"fr": "Pass semaine", "en": "Week pass"}
    period = models.CharField(max_length=5, choices=_choices(PERIODS))
    scope = models.CharField(max_length=12, choices=_choices(SCOPES), default="subscription")
    collection_slug = models.SlugField(max_length=80, blank=True)  # scope "collection"
    active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "slug"]
        constraints = [models.CheckConstraint(
            name="payments_plan_collection_when_scoped",
            condition=(models.Q(scope="collection") & ~models.Q(collection_slug=""))
            | (~models.Q(scope="collection") & models.Q(collection_slug="")))]

    def __str__(self) -> str:
        return self.names.get("en") or self.slug


class PlanPrice(models.Model):
    """A plan's price in one currency."""

    id = models.BigAutoField(primary_key=True)
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="prices")
    currency = models.CharField(max_length=3, choices=_choices(CURRENCIES))
    amount = models.PositiveBigIntegerField()  # integer minor units

    class Meta:
        constraints = [models.UniqueConstraint(fields=["plan", "currency"], name="payments_plan_price_per_currency"),
                       models.CheckConstraint(name="payments_plan_price_positive", condition=models.Q(amount__gt=0))]


# --- orders and payments ----------------------------------------------------------------------------
class Order(models.Model):
    """What a reader asked to buy, at the price the server quoted (never the client's)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.UUIDField(db_index=True)
    kind = models.CharField(max_length=4, choices=_choices(ORDER_KINDS))
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, null=True, blank=True, related_name="orders")
    book_id = models.UUIDField(null=True, blank=True)
    catalog_version = models.PositiveIntegerField(null=True, blank=True)  # the book's version quoted
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3, choices=_choices(CURRENCIES))
    status = models.CharField(max_length=9, choices=_choices(ORDER_STATES), default="pending")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=40, blank=True)  # why cancelled / expired / refunded

    class Meta:
        indexes = [models.Index(fields=["status", "expires_at"], name="payments_order_pending_expiry")]
        constraints = [
            models.CheckConstraint(name="payments_order_names_what_it_buys", condition=(
                models.Q(kind="pass", plan__isnull=False, book_id__isnull=True)
                | models.Q(kind="book", plan__isnull=True, book_id__isnull=False))),
            models.CheckConstraint(name="payments_order_amount_positive", condition=models.Q(amount__gt=0)),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} ({self.status})"


class Payment(models.Model):
    """One attempt to pay an order with one provider."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=12, choices=_choices(PROVIDERS))
    #: Ours, sent to the provider (Wave ``client_reference``, Orange ``order_id``): unique, ≤30 chars.
    reference = models.CharField(max_length=30, unique=True)
    provider_ref = models.CharField(max_length=255, blank=True, db_index=True)  # cos-…, pay_token, pi_…
    status = models.CharField(max_length=10, choices=_choices(PAYMENT_STATES), default="pending")
    amount = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3, choices=_choices(CURRENCIES))
    redirect_url = models.URLField(max_length=1000, blank=True)  # where the payer approves
    secret = EncryptedTextField(blank=True, default="")  # Orange's notif_token, Stripe's client secret
    failure = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # at most one payment of an order may succeed: money is never taken twice for one thing
            models.UniqueConstraint(fields=["order"], condition=models.Q(status__in=("succeeded", "refunded")),
                                    name="payments_payment_one_success_per_order"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.reference} ({self.status})"


class ProviderEvent(models.Model):
    """A webhook or notification a provider sent, verified, stored once by its own id."""

    id = models.BigAutoField(primary_key=True)
    provider = models.CharField(max_length=12, choices=_choices(PROVIDERS))
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=80)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="events")
    body = models.JSONField()
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=40, blank=True)  # granted | ignored | mismatch | failed …

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "event_id"], name="payments_provider_event_once")]


class Flag(models.Model):
    """Something staff must look at: an amount or currency that differs from the order, a
    payment the ledger and the provider disagree on. Never resolved by deleting."""

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField(max_length=40)  # amount_mismatch | missing_locally | missing_at_provider …
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="flags")
    provider = models.CharField(max_length=12, choices=_choices(PROVIDERS), blank=True)
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_note = models.TextField(blank=True)


class IdempotentRequest(models.Model):
    """The first answer to a POST sent with an ``Idempotency-Key``, replayed for the same key and body."""

    id = models.BigAutoField(primary_key=True)
    user_id = models.UUIDField()
    key = models.CharField(max_length=255)
    route = models.CharField(max_length=80)
    body_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    response = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user_id", "route", "key"], name="payments_idempotency_once")]


# --- what a reader may read --------------------------------------------------------------------------
class Subscription(models.Model):
    """A reader's pass on a plan: bought, stacked, renewed (cards) or redeemed from a code."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.UUIDField(db_index=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    status = models.CharField(max_length=9, choices=_choices(SUBSCRIPTION_STATES), default="pending")
    source = models.CharField(max_length=6)  # order | code | stripe
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="subscriptions")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()  # the end of the paid period
    grace_until = models.DateTimeField(null=True, blank=True)  # renewals that failed: still readable
    cancelled_at = models.DateTimeField(null=True, blank=True)  # stays active until ends_at
    reminded_at = models.DateTimeField(null=True, blank=True)  # a prepaid pass's reminder was sent
    stripe_subscription_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["user_id", "status"], name="payments_subscription_live")]


class Purchase(models.Model):
    """A book a reader bought: theirs for good, unless refunded."""

    id = models.BigAutoField(primary_key=True)
    user_id = models.UUIDField()
    book_id = models.UUIDField()
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="purchase")
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user_id", "book_id"], condition=models.Q(revoked_at__isnull=True),
                                               name="payments_purchase_once_per_book")]


# --- the ledger ---------------------------------------------------------------------------------------
class JournalEntry(models.Model):
    """One money movement. Append-only; its lines sum to zero per currency (checked by PostgreSQL
    when the transaction commits, so no code path can write an unbalanced entry)."""

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=40)  # payment | refund | …
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="journal")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="journal")
    memo = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name_plural = "journal entries"
        triggers = [pgtrigger.Protect(name="journal_entry_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]


class JournalLine(models.Model):
    """One side of an entry: ``amount`` minor units, positive = debit, negative = credit."""

    id = models.BigAutoField(primary_key=True)
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.CharField(max_length=80, db_index=True)  # provider_clearing:wave, revenue:book …
    currency = models.CharField(max_length=3)
    amount = models.BigIntegerField()

    class Meta:
        triggers = [
            pgtrigger.Protect(name="journal_line_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            pgtrigger.Trigger(
                name="journal_entry_balances", operation=pgtrigger.Insert, when=pgtrigger.After,
                level=pgtrigger.Row, timing=pgtrigger.Deferred,
                func=pgtrigger.Func("""
                IF (SELECT COALESCE(SUM(amount), 0) FROM {meta.db_table}
                    WHERE entry_id = NEW.entry_id AND currency = NEW.currency) <> 0 THEN
                    RAISE EXCEPTION 'journal entry % does not balance in %', NEW.entry_id, NEW.currency
                        USING ERRCODE = 'check_violation';
                END IF;
                RETURN NULL;
                """)),
        ]
        constraints = [models.CheckConstraint(name="payments_journal_line_not_zero", condition=~models.Q(amount=0))]


# --- receipts and institution codes -------------------------------------------------------------------
class ReceiptCounter(models.Model):
    """The last receipt number of a year: numbers follow each other without a gap."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)


class Receipt(models.Model):
    """The receipt of a paid order: ``number`` is ``<year>-<000001>``, without gaps per year."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.CharField(max_length=16, unique=True)
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="receipt")
    user_id = models.UUIDField(db_index=True)
    language = models.CharField(max_length=8)
    issued_at = models.DateTimeField(default=timezone.now)


class CodeBatch(models.Model):
    """Access codes staff made for an organisation: each opens ``plan`` for whoever redeems it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.CharField(max_length=200)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="code_batches")
    uses_per_code = models.PositiveIntegerField(default=1)
    expires_at = models.DateTimeField(null=True, blank=True)  # no redemption after this
    created_by = models.UUIDField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "code batches"

    def __str__(self) -> str:
        return f"{self.organisation} · {self.plan.slug}"


class AccessCode(models.Model):
    """One code of a batch; ``code_hash`` finds it (the code itself is shown to staff, encrypted at rest)."""

    id = models.BigAutoField(primary_key=True)
    batch = models.ForeignKey(CodeBatch, on_delete=models.PROTECT, related_name="codes")
    code = EncryptedTextField()
    code_hash = models.CharField(max_length=64, unique=True)
    uses = models.PositiveIntegerField(default=0)


class CodeRedemption(models.Model):
    """A reader redeemed a code (once per reader per code)."""

    id = models.BigAutoField(primary_key=True)
    code = models.ForeignKey(AccessCode, on_delete=models.PROTECT, related_name="redemptions")
    user_id = models.UUIDField()
    subscription = models.OneToOneField(Subscription, on_delete=models.PROTECT, related_name="redemption")
    redeemed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["code", "user_id"], name="payments_code_once_per_reader")]
