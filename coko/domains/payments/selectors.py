"""Payments reads: plans, access, entitlements, a reader's orders, the ledger's balances."""

from __future__ import annotations

import json
from datetime import datetime
from uuid import UUID

from django.db.models import Max, Q, Sum

from coko.platform import clock, money, versioned

from . import contracts
from .documents import ReceiptDocument
from .models import CollectionBook, JournalLine, Order, Plan, Purchase, SellableBook, Subscription

LIVE = ("active", "grace", "cancelled")


def plans_list(*, include_inactive: bool = False) -> list[Plan]:
    """The plans on sale (with their prices), in display order."""
    plans = Plan.objects.prefetch_related("prices").order_by("position", "slug")
    return list(plans if include_inactive else plans.filter(active=True))


def _live_passes(*, user_id, now):
    """The reader's passes readable at ``now`` (active, cancelled to the end of their period, or in grace)."""
    return Subscription.objects.filter(user_id=user_id, status__in=LIVE, starts_at__lte=now).filter(
        Q(ends_at__gt=now) | Q(status="grace", grace_until__gt=now))


ACCESS_CACHE_S = 300


def user_version(user_id) -> str:
    """The cache version name of what ``user_id`` may read (bumped when it changes)."""
    return f"payments:user:{user_id}"


def book_version(book_id) -> str:
    """The cache version name of a sellable book (bumped when the catalogue changes it)."""
    return f"payments:book:{book_id}"


def _access_encode(access: contracts.Access) -> str:
    return json.dumps([access.allowed, access.reason, access.until.isoformat() if access.until else None])


def _access_decode(raw: bytes) -> contracts.Access:
    allowed, reason, until = json.loads(raw)
    return contracts.Access(allowed=allowed, reason=reason, until=datetime.fromisoformat(until) if until else None)


def _access_ttl(access: contracts.Access) -> float | None:
    return (access.until - clock.now()).total_seconds() if access.until else None


def _access_key(user_id, book_id) -> tuple[str, list[str]]:
    """The cache entry of one answer and the versions it is built from (the book's; the reader's)."""
    versions = [book_version(book_id)] + ([user_version(user_id)] if user_id else [])
    return f"payments:access:{user_id or '-'}:{book_id}", versions


def access_for(*, user_id: UUID | None, book_id: UUID) -> contracts.Access:
    """May ``user_id`` (None: anonymous) read ``book_id`` now, why, and until when: from the
    cache (one Redis round trip), keyed by the versions of the reader's entitlements and of
    the book, and never past the ``until`` it says."""
    return access_for_many(user_id=user_id, book_ids=[book_id])[0]


def access_for_many(*, user_id: UUID | None, book_ids: list) -> list[contracts.Access]:
    """``access_for`` for many books, in their order: one Redis round trip
    (``versioned.cached_many``), then, for the books the cache did not know, ``access_compute_many``
    (at most four queries whatever their number). An answer true until a known time is stored
    only while it is true and, found past that time, is computed again."""
    ids = [str(book_id) for book_id in book_ids]
    answers: dict[int, contracts.Access] = {}

    def missing(positions: list[int]) -> dict[int, bytes]:
        computed = access_compute_many(user_id=user_id, book_ids=[ids[n] for n in positions])
        answers.update(zip(positions, computed, strict=True))
        return {n: _access_encode(access).encode() for n, access in zip(positions, computed, strict=True)
                if (_access_ttl(access) or ACCESS_CACHE_S) > 0.001}

    bodies = versioned.cached_many(entries=[_access_key(user_id, book_id) for book_id in ids],
                                   ttl_s=ACCESS_CACHE_S, compute_missing=missing)
    for n, body in enumerate(bodies):
        if n not in answers and body is not None:
            answers[n] = _access_decode(body)
    stale = [n for n in range(len(ids)) if n not in answers or (_access_ttl(answers[n]) or 1.0) <= 0]
    if stale:  # past its ``until`` (or left unstored): from the database
        answers.update(zip(stale, access_compute_many(user_id=user_id, book_ids=[ids[n] for n in stale]), strict=True))
    return [answers[n] for n in range(len(ids))]


def access_compute(*, user_id: UUID | None, book_id: UUID) -> contracts.Access:
    """``access_for`` from the database: at most four small indexed queries (the book, the
    reader's purchase, the reader's passes, the collections of the book those passes open)."""
    return access_compute_many(user_id=user_id, book_ids=[book_id])[0]


def access_compute_many(*, user_id: UUID | None, book_ids: list) -> list[contracts.Access]:
    """``access_compute`` for many books, in their order, in at most four queries: the books, the
    reader's purchases among them, the reader's live passes, and which of the collections those
    passes open hold which of the books. A book id that is no UUID is an unknown book."""
    ids = [_uuid_or_none(book_id) for book_id in book_ids]
    known = [i for i in dict.fromkeys(ids) if i is not None]
    books = {row["book_id"]: row for row in SellableBook.objects.filter(book_id__in=known)
             .values("book_id", "status", "access_model")} if known else {}
    bought = set(Purchase.objects.filter(user_id=user_id, book_id__in=list(books), revoked_at__isnull=True)
                 .values_list("book_id", flat=True)) if user_id is not None and books else set()
    wanting = [book_id for book_id, book in books.items() if book_id not in bought and book["status"] == "published"
               and book["access_model"] == "subscription"]
    passes = list(_live_passes(user_id=user_id, now=clock.now())
                  .values("source", "plan__scope", "plan__collection_slug").annotate(until=Max("ends_at"))
                  .order_by()) if user_id is not None and wanting else []
    slugs = {p["plan__collection_slug"] for p in passes if p["plan__scope"] == "collection"}
    shelves: dict[UUID, set[str]] = {}
    if slugs:
        for book_id, slug in (CollectionBook.objects.filter(book_id__in=wanting, collection__slug__in=slugs,
                                                            collection__deleted=False)
                              .values_list("book_id", "collection__slug")):
            shelves.setdefault(book_id, set()).add(slug)
    return [_access_decide(book=books.get(book_id), bought=book_id in bought, passes=passes,
                           collections=shelves.get(book_id, set()), anonymous=user_id is None)
            for book_id in ids]


def _uuid_or_none(value) -> UUID | None:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError:
        return None


def _access_decide(*, book: dict | None, bought: bool, passes: list[dict], collections: set[str],
                   anonymous: bool) -> contracts.Access:
    """One answer from what was read: a purchase, then the book's status and access model, then
    the passes whose scope covers it (every subscription book, or the collection's books)."""
    if book is None:
        return contracts.Access(allowed=False, reason="unknown_book")
    if bought:
        return contracts.Access(allowed=True, reason="purchase")
    if book["status"] != "published":
        return contracts.Access(allowed=False, reason="withdrawn")
    if book["access_model"] == "free":
        return contracts.Access(allowed=True, reason="free")
    if book["access_model"] == "sale" or anonymous:  # bought (above) or nothing; anonymous: nothing
        return contracts.Access(allowed=False, reason="no_entitlement")
    covering = [p for p in passes if p["plan__scope"] == "subscription" or p["plan__collection_slug"] in collections]
    best = max(covering, key=lambda row: row["until"], default=None)
    if best is None:  # a pass on another collection does not open this book: say so
        return contracts.Access(allowed=False, reason="outside_pass_scope" if passes else "no_entitlement")
    return contracts.Access(allowed=True, reason="institution" if best["source"] == "code" else "pass",
                            until=best["until"])


def entitlements_for_user(*, user_id: UUID) -> list[contracts.Entitlement]:
    """What the reader may read beyond free books: their purchases and live passes."""
    now = clock.now()
    rows = [contracts.Entitlement(kind="purchase", book_id=str(p.book_id), plan_slug=None, starts_at=p.created_at,
                                  ends_at=None)
            for p in Purchase.objects.filter(user_id=user_id, revoked_at__isnull=True).order_by("-created_at")]
    rows += [contracts.Entitlement(kind="institution" if s.source == "code" else "pass", book_id=None,
                                   plan_slug=s.plan.slug, starts_at=s.starts_at,
                                   ends_at=s.grace_until if s.status == "grace" else s.ends_at)
             for s in (Subscription.objects.select_related("plan").filter(user_id=user_id, status__in=LIVE)
                       .filter(Q(ends_at__gt=now) | Q(status="grace", grace_until__gt=now)).order_by("starts_at"))]
    return rows


def orders_for_user(*, user_id: UUID, before: tuple | None = None, limit: int = 20) -> list[Order]:
    """The reader's orders, newest first; ``before`` is the ``(created_at, id)`` of the last one seen."""
    orders = (Order.objects.filter(user_id=user_id).select_related("plan", "receipt").prefetch_related("payments")
              .order_by("-created_at", "-id"))
    if before is not None:
        created_at, order_id = before
        orders = orders.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=order_id))
    return list(orders[:limit])


def order_for_user(*, user_id: UUID, order_id: UUID) -> Order | None:
    """One of the reader's orders (None for another's: no enumeration)."""
    return (Order.objects.filter(id=order_id, user_id=user_id).select_related("plan", "receipt")
            .prefetch_related("payments").first())


def ledger_balances(*, account_prefix: str = "") -> dict[tuple[str, str], int]:
    """``{(account, currency): balance}`` of the ledger accounts starting with ``account_prefix``."""
    rows = (JournalLine.objects.filter(account__startswith=account_prefix)
            .values("account", "currency").annotate(total=Sum("amount")).order_by())
    return {(row["account"], row["currency"]): row["total"] for row in rows}


def receipt_document_for_user(*, user_id: UUID, order_id: UUID, language: str) -> ReceiptDocument | None:
    """The receipt of one of the reader's paid (or since refunded) orders, in ``language``; None
    when there is none (another reader's order included: no enumeration)."""
    order = (Order.objects.filter(id=order_id, user_id=user_id, status__in=("paid", "refunded"))
             .select_related("plan", "receipt").first())
    receipt = getattr(order, "receipt", None) if order is not None else None
    if receipt is None:
        return None
    payment = order.payments.filter(status__in=("succeeded", "refunded")).first()
    if order.kind == "pass":
        item = order.plan.names.get(language) or order.plan.names.get("fr") or order.plan.slug
    else:
        item = SellableBook.objects.filter(book_id=order.book_id).values_list("title", flat=True).first() or ""
    return ReceiptDocument(number=receipt.number, language=language, issued_at=receipt.issued_at, item=item,
                           amount=money.display(amount=order.amount, currency=order.currency, language=language),
                           provider=payment.provider if payment else "", order_id=str(order.id))
