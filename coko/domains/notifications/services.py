"""Notifications use cases. Each is one ``@use_case("notifications")`` (one durable transaction
on the notifications alias; called from this domain's event handlers, ``notification_send``
joins their inbox transaction instead); deliveries are handed to dramatiq only after the
transaction that created them commits."""

from __future__ import annotations

import json
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from urllib.parse import urlsplit

import dramatiq
from django.conf import settings
from django.db import IntegrityError, transaction
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone

from coko.domains.accounts import api as accounts_api
from coko.platform import outbound
from coko.platform.channels import channel_configured
from coko.platform.crypto import field_decrypt
from coko.platform.observability import get_logger
from coko.platform.services import model_update, use_case

from . import channels as ch
from . import errors, selectors
from .contracts import CATEGORIES, CHANNELS, DEVICE_KINDS, PREFERENCE_CATEGORIES, NotificationQueued
from .models import Delivery, DeliveryAttempt, DeviceToken, InboxItem, Notification, Preference, UserSettings

DB = "notifications"
ACTOR_NAME = "notifications.deliver"
QUEUE_NAME = "notifications"
PUSH_KIND = {"push": "fcm", "webpush": "webpush"}
log = get_logger("coko.notifications")


# --- sending ------------------------------------------------------------------------------------
def _in_quiet_hours(local: time, start: time | None, end: time | None) -> bool:
    if start is None or end is None or start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # over midnight


def quiet_hours_end(*, user_id, now: datetime | None = None) -> datetime | None:
    """When the user's quiet hours end, if they are in them now; else None."""
    cfg = selectors.user_settings_get(user_id=user_id)
    now = now or timezone.now()
    try:
        tz = zoneinfo.ZoneInfo(cfg.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    local = now.astimezone(tz)
    if not _in_quiet_hours(local.time(), cfg.quiet_hours_start, cfg.quiet_hours_end):
        return None
    end = datetime.combine(local.date(), cfg.quiet_hours_end, tzinfo=tz)
    if end <= local:
        end += timedelta(days=1)
    return end


def _destinations(*, user_id, contact, channels: list[str] | None) -> dict[str, str]:
    """channel → destination for the channels that can reach the user."""
    available: dict[str, str] = {"inapp": str(user_id)}
    if contact.email:
        available["email"] = contact.email
    if contact.phone:
        available["sms"] = contact.phone
    for channel, kind in PUSH_KIND.items():
        if selectors.device_tokens_for(user_id=user_id, kind=kind):
            available[channel] = kind  # resolved to the devices at delivery time
    if channels is None:  # every channel that can reach them and this server can use
        wanted = [c for c in ["inapp", "email", "push", "webpush"] + ([] if contact.email else ["sms"])
                  if channel_configured(c)]
    else:
        wanted = channels
    return {c: available[c] for c in wanted if c in available}


@use_case(DB)
def notification_send(*, user_id, template: str, context: dict | None = None,
                      channels: list[str] | None = None, category: str,
                      idempotency_key: str, now: datetime | None = None) -> NotificationQueued:
    """Tell a user something: one notification, one delivery per allowed channel.

    The same ``idempotency_key`` always answers the same notification; nothing is queued twice.
    """
    if category not in CATEGORIES:
        raise errors.UNKNOWN_CATEGORY(categories=[category])
    if channels is not None:
        unknown = sorted(set(channels) - set(CHANNELS))
        if unknown:
            raise errors.UNKNOWN_CHANNEL(channels=unknown, allowed=list(CHANNELS))
        unconfigured = [c for c in channels if not channel_configured(c)]
        if unconfigured:
            raise errors.CHANNEL_NOT_CONFIGURED(channels=unconfigured)
    if not idempotency_key or len(idempotency_key) > 200:
        raise errors.INVALID_IDEMPOTENCY_KEY()
    existing = Notification.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _queued(existing, created=False)
    contact = accounts_api.contact_for(user_id=str(user_id))
    if contact is None or not contact.is_active:
        raise errors.USER_NOT_FOUND(user_id=str(user_id))
    language = selectors.template_language(template=template, language=contact.preferred_language)
    if language is None:
        raise errors.UNKNOWN_TEMPLATE(template=template)
    now = now or timezone.now()
    held_until = None if category == "security" else quiet_hours_end(user_id=contact.user_id, now=now)
    destinations = _destinations(user_id=contact.user_id, contact=contact, channels=channels)
    # Called from an event handler, this use case joins the handler's inbox transaction (the
    # notification and the inbox mark commit together); the deliveries start after the commit.
    try:
        with transaction.atomic(using=DB):
            notification = Notification.objects.create(
                user_id=contact.user_id, template=template, category=category,
                context={"display_name": contact.display_name, **(context or {})},
                language=language, idempotency_key=idempotency_key, created_at=now)
    except IntegrityError:  # a concurrent call with the same key won
        existing = Notification.objects.get(idempotency_key=idempotency_key)
        return _queued(existing, created=False)
    deliveries = []
    for channel, destination in destinations.items():
        if not selectors.channel_allowed(user_id=contact.user_id, category=category, channel=channel):
            continue
        deliveries.append(Delivery.objects.create(
            notification=notification, channel=channel, destination=destination, created_at=now,
            not_before=None if channel == "inapp" else held_until))
    ids = [(d.id, d.not_before) for d in deliveries]
    transaction.on_commit(lambda: _enqueue(ids), using=DB)
    return _queued(notification, created=True)


@use_case(DB)
def notification_send_to_address(*, channel: str, address: str, language: str, template: str, context: dict,
                                 idempotency_key: str) -> NotificationQueued:
    """Tell an address that has no account yet something (a sign-up code) on its one channel,
    ``email`` or ``sms``: a security message, in ``language`` (else English). Idempotent as
    ``notification_send``."""
    if channel not in ("email", "sms"):
        raise errors.UNKNOWN_CHANNEL(channels=[channel], allowed=["email", "sms"])
    existing = Notification.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _queued(existing, created=False)
    rendered_in = selectors.template_language(template=template, language=language)
    if rendered_in is None:
        raise errors.UNKNOWN_TEMPLATE(template=template)
    notification = Notification.objects.create(user_id=None, template=template, category="security",
                                               context=context, language=rendered_in,
                                               idempotency_key=idempotency_key)
    delivery = Delivery.objects.create(notification=notification, channel=channel, destination=address)
    transaction.on_commit(lambda: _enqueue([(delivery.id, None)]), using=DB)
    return _queued(notification, created=True)


def _queued(notification: Notification, *, created: bool) -> NotificationQueued:
    channels = tuple(notification.deliveries.order_by("id").values_list("channel", flat=True))
    return NotificationQueued(notification_id=str(notification.id), channels=channels, created=created)


def _enqueue(ids) -> None:
    broker = dramatiq.get_broker()
    now = timezone.now()
    for delivery_id, not_before in ids:
        delay = max(0, int((not_before - now).total_seconds() * 1000)) if not_before else None
        broker.enqueue(dramatiq.Message(queue_name=QUEUE_NAME, actor_name=ACTOR_NAME,
                                        args=(delivery_id,), kwargs={}, options={}), delay=delay)


# --- rendering ----------------------------------------------------------------------------------
def render(notification: Notification) -> tuple[str, str, str | None]:
    """Subject, text and HTML (or None) of a notification, in its language."""
    context = dict(notification.context)
    if "code_encrypted" in context:  # one-time codes are stored encrypted, decrypted to render
        context["code"] = field_decrypt(context.pop("code_encrypted"))
    base = f"notifications/{notification.template}/{notification.language}"
    subject = " ".join(render_to_string(f"{base}.subject.txt", context).split())
    text = render_to_string(f"{base}.txt", context).strip() + "\n"
    try:
        html = render_to_string(f"{base}.html", context)
    except TemplateDoesNotExist:
        html = None
    return subject, text, html


# --- delivering ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class AttemptResult:
    status: str  # sent | failed | queued
    retry_in_ms: int | None = None  # set: try again after this delay


def _retry_policy(channel: str) -> tuple[int, int, int]:
    """(max attempts, first backoff ms, max backoff ms) of a channel."""
    cfg = settings.COKO_NOTIFICATIONS
    return (cfg["MAX_ATTEMPTS"].get(channel, cfg["MAX_ATTEMPTS"]["default"]),
            cfg["MIN_BACKOFF_MS"], cfg["MAX_BACKOFF_MS"])


def _record(delivery: Delivery, *, outcome: str, provider: str = "", provider_id: str = "",
            error: str = "") -> None:
    DeliveryAttempt.objects.create(delivery=delivery, number=delivery.attempts, outcome=outcome,
                                             provider=provider, provider_id=provider_id, error=error[:2000])


def _send_push(delivery: Delivery, message: ch.Outgoing, adapter) -> ch.Sent:
    """A push on every registered device of that kind; invalid tokens are dropped."""
    tokens = selectors.device_tokens_for(user_id=delivery.notification.user_id, kind=PUSH_KIND[delivery.channel])
    if not tokens:
        raise ch.InvalidRecipient("no registered device")
    sent, temporary = None, None
    for token in tokens:
        try:
            result = adapter.send(ch.Outgoing(to=token.token, subject=message.subject, text=message.text,
                                              html=message.html, data=message.data))
        except ch.InvalidRecipient:
            DeviceToken.objects.filter(id=token.id).delete()
            log.info("device token dropped", token_id=token.id, channel=delivery.channel)
            continue
        except ch.TemporaryFailure as exc:
            temporary = exc
            continue
        DeviceToken.objects.filter(id=token.id).update(last_used_at=timezone.now())
        sent = sent or result
    if sent is not None:
        return sent
    if temporary is not None:
        raise temporary
    raise ch.InvalidRecipient("every device token was invalid")


@use_case(DB)
def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> AttemptResult | None:
    """Try one delivery once, recording the attempt. None when there is nothing to do."""
    now = now or timezone.now()
    delivery = (Delivery.objects.select_for_update().select_related("notification")
                .filter(id=delivery_id).first())
    if delivery is None or delivery.status != Delivery.QUEUED:
        return None
    if delivery.not_before and delivery.not_before > now:
        return AttemptResult("queued", int((delivery.not_before - now).total_seconds() * 1000) + 1)
    notification = delivery.notification
    subject, text, html = render(notification)
    message = ch.Outgoing(to=delivery.destination, subject=subject, text=text, html=html, data={
        "notification_id": str(notification.id), "user_id": str(notification.user_id or ""),
        "category": notification.category, "template": notification.template})
    delivery.attempts += 1
    max_attempts, min_ms, max_ms = _retry_policy(delivery.channel)
    retry_in = None
    try:
        adapter = ch.adapter_for(delivery.channel)
        if delivery.channel in PUSH_KIND:
            sent = _send_push(delivery, message, adapter)
        else:
            sent = adapter.send(message)
    except ch.TemporaryFailure as exc:
        delivery.error = str(exc) or exc.__class__.__name__
        _record(delivery, outcome="temporary", error=delivery.error)
        if delivery.attempts < max_attempts:
            backoff = min(max_ms, min_ms * 2 ** (delivery.attempts - 1))
            if exc.retry_after:
                backoff = max(backoff, int(exc.retry_after * 1000))
            retry_in = backoff
        else:
            delivery.status = Delivery.FAILED
    except ch.PermanentFailure as exc:
        delivery.error = str(exc) or exc.__class__.__name__
        # "invalid" (not "invalid_recipient": the outcome column holds 16 characters)
        outcome = "invalid" if isinstance(exc, ch.InvalidRecipient) else "permanent"
        _record(delivery, outcome=outcome, error=delivery.error)
        delivery.status = Delivery.FAILED
    else:
        delivery.status, delivery.sent_at, delivery.error = Delivery.SENT, timezone.now(), ""
        delivery.provider, delivery.provider_id = sent.provider, sent.provider_id[:255]
        _record(delivery, outcome="sent", provider=sent.provider, provider_id=delivery.provider_id)
    delivery.save()
    log.info("notification delivery attempt", delivery_id=delivery.id, channel=delivery.channel,
             status=delivery.status, attempts=delivery.attempts)
    return AttemptResult(delivery.status, retry_in)


# --- the in-app inbox ---------------------------------------------------------------------------------
@use_case(DB)
def inbox_item_read(*, user_id, item_id) -> InboxItem:
    item = InboxItem.objects.select_for_update().filter(id=item_id, user_id=user_id).first()
    if item is None:
        raise errors.NOTIFICATION_NOT_FOUND(id=str(item_id))
    if item.read_at is None:
        model_update(instance=item, fields=["read_at"], data={"read_at": timezone.now()})
    return item


# --- preferences and devices ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PreferenceChange:
    """Whether the user wants ``category`` notifications on ``channel``."""

    category: str
    channel: str
    enabled: bool


@use_case(DB)
def preferences_update(*, user_id, preferences: Sequence[PreferenceChange], time_zone: str | None = None,
                       quiet_hours: tuple[time | None, time | None] | None = None) -> None:
    """Set the user's preferences (each ``(category, channel)`` given), time zone and quiet
    hours (``(None, None)``: none)."""
    for pref in preferences:
        if pref.category not in PREFERENCE_CATEGORIES or pref.channel not in CHANNELS:
            raise errors.INVALID_PREFERENCE(category=pref.category, channel=pref.channel)
    if time_zone is not None:
        try:
            zoneinfo.ZoneInfo(time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise errors.INVALID_TIME_ZONE(time_zone=time_zone) from None
    if quiet_hours is not None and (quiet_hours[0] is None) != (quiet_hours[1] is None):
        raise errors.INVALID_QUIET_HOURS()
    for pref in preferences:
        Preference.objects.update_or_create(user_id=user_id, category=pref.category, channel=pref.channel,
                                            defaults={"enabled": pref.enabled})
    changes: dict = {}
    if time_zone is not None:
        changes["time_zone"] = time_zone
    if quiet_hours is not None:
        changes["quiet_hours_start"], changes["quiet_hours_end"] = quiet_hours
    if changes:
        cfg, _created = UserSettings.objects.get_or_create(user_id=user_id)
        model_update(instance=cfg, fields=["time_zone", "quiet_hours_start", "quiet_hours_end"], data=changes)


def _device_token_parsed(kind: str, token: str | dict) -> str | dict | None:
    """An FCM token is one opaque word; a web-push subscription is ``{"endpoint": http(s) URL,
    "keys": {"p256dh", "auth"}}`` (as ``PushSubscription.toJSON()``, or that JSON as a string).
    The token (a subscription parsed), or None when it has not that shape."""
    if kind == "fcm":
        ok = isinstance(token, str) and bool(token.strip()) and not any(c.isspace() for c in token)
        return token if ok else None
    if isinstance(token, str):
        try:
            token = json.loads(token)
        except ValueError:
            return None
    if not isinstance(token, dict):
        return None
    endpoint, keys = token.get("endpoint"), token.get("keys")
    ok = (isinstance(endpoint, str) and endpoint.startswith(("https://", "http://")) and isinstance(keys, dict)
          and all(isinstance(keys.get(k), str) and keys.get(k) for k in ("p256dh", "auth")))
    return token if ok else None


def _push_endpoint_check(kind: str, endpoint: str) -> None:
    """A web push endpoint is where the worker will POST: only an ``https`` URL on a push
    service of ``COKO_WEBPUSH_ALLOWED_HOSTS`` (FCM, Mozilla, Apple, Microsoft by default),
    whose name does not resolve to a private, loopback or link-local address — or a host of
    ``COKO_OUTBOUND_ALLOWED_HOSTS`` (the simulators), http or https. Anything else is
    ``push_endpoint_refused`` with a ``reason``: ``scheme``, ``host`` or ``address``.

    A name that does not resolve now is accepted (DNS may be down for a moment): the worker's
    connection goes through the same check (``coko.platform.outbound``) before any byte is sent."""
    try:
        parts = urlsplit(endpoint)
        host, port = parts.hostname or "", parts.port
    except ValueError:
        raise errors.PUSH_ENDPOINT_REFUSED(kind=kind, reason="host") from None
    port = port or (443 if parts.scheme == "https" else 80)
    trusted = bool(host) and outbound.host_matches(host, port, outbound.allowed_hosts())
    if not (parts.scheme == "https" or (trusted and parts.scheme == "http")):
        raise errors.PUSH_ENDPOINT_REFUSED(kind=kind, reason="scheme")
    if (not host or parts.username is not None or parts.password is not None
            or not (trusted or outbound.host_matches(host, port, settings.COKO_WEBPUSH_ALLOWED_HOSTS))):
        raise errors.PUSH_ENDPOINT_REFUSED(kind=kind, reason="host")
    try:
        outbound.url_check(endpoint)
    except outbound.OutboundRefused:
        raise errors.PUSH_ENDPOINT_REFUSED(kind=kind, reason="address") from None
    except OSError as exc:  # does not resolve now
        log.info("push endpoint not resolved at subscription", host=host, error=str(exc)[:200])


@use_case(DB)
def device_subscribe(*, user_id, kind: str, token: str | dict) -> DeviceToken:
    if kind not in DEVICE_KINDS:
        raise errors.INVALID_DEVICE_KIND(kind=kind, allowed=list(DEVICE_KINDS))
    value = token if isinstance(token, str) else json.dumps(token, sort_keys=True, separators=(",", ":"))
    parsed = _device_token_parsed(kind, token) if value and len(value) <= 4096 else None
    if parsed is None:
        raise errors.INVALID_DEVICE_TOKEN(kind=kind)
    if kind == "webpush":
        _push_endpoint_check(kind, parsed["endpoint"])
    device, _created = DeviceToken.objects.update_or_create(token=value, defaults={"user_id": user_id, "kind": kind})
    return device


@use_case(DB)
def device_unsubscribe(*, user_id, token: str | dict) -> bool:
    value = token if isinstance(token, str) else json.dumps(token, sort_keys=True, separators=(",", ":"))
    deleted, _ = DeviceToken.objects.filter(user_id=user_id, token=value).delete()
    return bool(deleted)
