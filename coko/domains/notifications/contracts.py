"""Frozen data the notifications domain shares: facade results and event payloads.

No Django imports here: contracts must be importable by an extracted service.
"""

from __future__ import annotations

from dataclasses import dataclass

CATEGORIES = ("account", "reading", "payments", "community", "marketing", "security")
# Categories a user may set preferences on (security messages always go out).
PREFERENCE_CATEGORIES = ("account", "reading", "payments", "community", "marketing")
CHANNELS = ("email", "sms", "push", "webpush", "inapp")
DEVICE_KINDS = ("fcm", "webpush")
# Off unless the user opts in.
DEFAULT_OFF = frozenset({("marketing", channel) for channel in CHANNELS})


@dataclass(frozen=True)
class NotificationQueued:
    """What ``notifications.api.notification_send`` answers."""

    notification_id: str
    channels: tuple[str, ...]  # the channels a delivery was queued on
    created: bool  # False: the idempotency key was seen before, nothing new was queued
