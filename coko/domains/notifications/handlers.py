"""Event handlers of the notifications domain: what the accounts events tell a person."""

from __future__ import annotations

from coko.platform.errors import NotFound
from coko.platform.events import Event, subscribe
from coko.platform.observability import get_logger

from . import api

log = get_logger("coko.notifications")


def _send(event: Event, **kwargs) -> None:
    try:
        api.notification_send(user_id=event.payload["user_id"], idempotency_key=f"{event.type}:{event.id}",
                              **kwargs)
    except NotFound:  # the account was closed and erased before we got here: nobody to tell
        log.info("notification skipped: no such user", event_id=str(event.id), event_type=event.type)


@subscribe("user.registered")
def welcome_new_user(event: Event) -> None:
    _send(event, template="welcome", category="account", context={})


@subscribe("verification.requested", "password_reset.requested")
def send_one_time_code(event: Event) -> None:
    payload = event.payload
    template = "password_reset_code" if event.type == "password_reset.requested" else "verification_code"
    channel = payload.get("channel", "email")
    _send(event, template=template, category="security", channels=[channel],
          context={"code_encrypted": payload["code_encrypted"], "purpose": payload.get("purpose", "")})
