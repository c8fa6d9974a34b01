"""HTTP edge of the notifications domain: the brief's routes under /api/v1/notifications.

Thin: parse, call a service or selector, shape the answer. (Routers are mounted at the
API root, so every path here carries its ``/notifications`` prefix.)
"""

from __future__ import annotations

import re
from datetime import datetime, time
from typing import Annotated, Any, Literal
from uuid import UUID

from ninja import Field, Query, Router, Schema, Status
from pydantic import BeforeValidator, WithJsonSchema

from coko.platform.auth.ninja import BearerAuth, require_role
from coko.platform.http.openapi import error_statuses

from . import api, selectors, services
from .contracts import CHANNELS, PREFERENCE_CATEGORIES

router = Router(tags=["notifications"])
bearer = BearerAuth()
admin = require_role("admin")  # checked before the body is read: a reader gets 403, never the staff schema

Channel = Literal["email", "sms", "push", "webpush", "inapp"]
Category = Literal["account", "reading", "payments", "community", "marketing"]


# --- schemas ------------------------------------------------------------------------------------
class InboxItemOut(Schema):
    id: UUID
    notification_id: UUID
    category: str
    title: str
    body: str
    read: bool
    read_at: datetime | None
    created_at: datetime


class InboxOut(Schema):
    items: list[InboxItemOut]
    count: int
    unread: int
    limit: int
    offset: int


class PageIn(Schema):
    limit: int = Field(20, ge=1, le=100)
    offset: int = Field(0, ge=0, le=10000)


class PreferenceItem(Schema):
    category: Category
    channel: Channel
    enabled: bool


_WALL_TIME = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"


def _wall_time(value: Any) -> Any:
    """``"22:00"`` or ``"22:00:30"``: a time on the user's clock, read in their ``time_zone``. An
    offset (``"22:00+05:00"``, silently dropped before), a fraction or a number is refused."""
    if isinstance(value, time):  # from the database, on the way out
        return value
    if isinstance(value, str) and re.fullmatch(_WALL_TIME, value):
        return time.fromisoformat(value)
    raise ValueError("expected a time HH:MM or HH:MM:SS, without an offset")


WallTime = Annotated[time, BeforeValidator(_wall_time), WithJsonSchema(
    {"type": "string", "pattern": _WALL_TIME, "examples": ["22:00"],
     "description": "A time on the user's clock (their time_zone): HH:MM or HH:MM:SS, no offset."})]


class QuietHours(Schema):
    start: WallTime
    end: WallTime


class PreferencesOut(Schema):
    preferences: list[PreferenceItem]
    time_zone: str
    quiet_hours: QuietHours | None


class PreferencesIn(Schema):
    preferences: list[PreferenceItem] = Field(default_factory=list, max_length=100)
    time_zone: str | None = Field(None, max_length=64)
    quiet_hours: QuietHours | None = None
    clear_quiet_hours: bool = False


class SubscribeIn(Schema):
    kind: Literal["fcm", "webpush"]
    token: str | dict[str, Any]


class UnsubscribeIn(Schema):
    token: str | dict[str, Any]


class DeviceOut(Schema):
    id: int
    kind: str
    created_at: datetime


class SendIn(Schema):
    user_id: UUID
    template: str = Field(..., min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    category: Literal["account", "reading", "payments", "community", "marketing", "security"]
    context: dict[str, Any] = Field(default_factory=dict)
    channels: list[Channel] | None = None
    idempotency_key: str = Field(..., min_length=1, max_length=200)


class SendOut(Schema):
    notification_id: UUID
    channels: list[str]
    created: bool


def _item(item) -> dict:
    return {"id": item.id, "notification_id": item.notification_id, "category": item.category,
            "title": item.title, "body": item.body, "read": item.read_at is not None,
            "read_at": item.read_at, "created_at": item.created_at}


def _preferences(user_id) -> dict:
    values = selectors.preferences_for(user_id=user_id)
    cfg = selectors.user_settings_get(user_id=user_id)
    quiet = ({"start": cfg.quiet_hours_start, "end": cfg.quiet_hours_end}
             if cfg.quiet_hours_start is not None and cfg.quiet_hours_end is not None else None)
    return {"preferences": [{"category": c, "channel": ch, "enabled": values[(c, ch)]}
                            for c in PREFERENCE_CATEGORIES for ch in CHANNELS],
            "time_zone": cfg.time_zone, "quiet_hours": quiet}


# --- routes -------------------------------------------------------------------------------------
@router.get("/notifications", response=InboxOut, auth=bearer, summary="My inbox, newest first")
def inbox(request, page: Query[PageIn]):
    items, count, unread = selectors.inbox_page(user_id=request.auth.user_id, limit=page.limit,
                                                offset=page.offset)
    return {"items": [_item(i) for i in items], "count": count, "unread": unread,
            "limit": page.limit, "offset": page.offset}


@router.post("/notifications/{item_id}/read", response=InboxItemOut, auth=bearer, summary="Mark as read")
def read(request, item_id: UUID):
    return _item(services.inbox_item_read(user_id=request.auth.user_id, item_id=item_id))


@router.get("/notifications/preferences", response=PreferencesOut, auth=bearer,
            summary="What I am sent, on which channel, and my quiet hours")
def preferences_get(request):
    return _preferences(request.auth.user_id)


@router.put("/notifications/preferences", response=PreferencesOut, auth=bearer,
            summary="Change what I am sent, on which channel, and my quiet hours")
def preferences_put(request, body: PreferencesIn):
    quiet = None
    if body.clear_quiet_hours:
        quiet = (None, None)
    elif body.quiet_hours is not None:
        quiet = (body.quiet_hours.start, body.quiet_hours.end)
    preferences = [services.PreferenceChange(category=p.category, channel=p.channel, enabled=p.enabled)
                   for p in body.preferences]
    services.preferences_update(user_id=request.auth.user_id, preferences=preferences,
                                time_zone=body.time_zone, quiet_hours=quiet)
    return _preferences(request.auth.user_id)


@router.post("/notifications/subscribe", response={201: DeviceOut}, auth=bearer,
             summary="Register a device token or a web-push subscription")
def subscribe(request, body: SubscribeIn):
    device = services.device_subscribe(user_id=request.auth.user_id, kind=body.kind, token=body.token)
    return Status(201, {"id": device.id, "kind": device.kind, "created_at": device.created_at})


@router.delete("/notifications/subscribe", response={204: None}, auth=bearer,
               summary="Remove a device token or a web-push subscription")
def unsubscribe(request, body: UnsubscribeIn):
    services.device_unsubscribe(user_id=request.auth.user_id, token=body.token)
    return Status(204, None)


@router.post("/notifications/send", response={202: SendOut}, auth=admin,
             summary="Send a notification to a user (staff and internal callers)",
             openapi_extra=error_statuses(404))
def send(request, body: SendIn):
    queued = api.notification_send(user_id=str(body.user_id), template=body.template,
                                   category=body.category, idempotency_key=body.idempotency_key,
                                   context=body.context, channels=body.channels)
    return Status(202, {"notification_id": queued.notification_id, "channels": list(queued.channels),
                        "created": queued.created})
