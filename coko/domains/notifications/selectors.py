"""Notifications reads."""

from __future__ import annotations

from django.template import TemplateDoesNotExist
from django.template.loader import get_template

from .contracts import CHANNELS, DEFAULT_OFF, PREFERENCE_CATEGORIES
from .models import DeviceToken, InboxItem, Preference, UserSettings

FALLBACK_LANGUAGE = "en"


def template_language(*, template: str, language: str) -> str | None:
    """The language a template will be rendered in (the user's, else English), or None
    when the template does not exist."""
    for candidate in (language, FALLBACK_LANGUAGE):
        try:
            get_template(f"notifications/{template}/{candidate}.txt")
        except TemplateDoesNotExist:
            continue
        return candidate
    return None


def preferences_for(*, user_id) -> dict[tuple[str, str], bool]:
    """Every (category, channel) a user may choose, with its current value."""
    values = {(category, channel): (category, channel) not in DEFAULT_OFF
              for category in PREFERENCE_CATEGORIES for channel in CHANNELS}
    for pref in Preference.objects.filter(user_id=user_id):
        values[(pref.category, pref.channel)] = pref.enabled
    return values


def channel_allowed(*, user_id, category: str, channel: str) -> bool:
    if category == "security":
        return True
    return preferences_for(user_id=user_id).get((category, channel), False)


def user_settings_get(*, user_id) -> UserSettings:
    found = UserSettings.objects.filter(user_id=user_id).first()
    return found or UserSettings(user_id=user_id)


def device_tokens_for(*, user_id, kind: str) -> list[DeviceToken]:
    return list(DeviceToken.objects.filter(user_id=user_id, kind=kind).order_by("-created_at"))


def inbox_page(*, user_id, limit: int, offset: int) -> tuple[list[InboxItem], int, int]:
    """A page of the inbox (newest first), the total and the unread count."""
    items = InboxItem.objects.filter(user_id=user_id)
    page = list(items.order_by("-created_at", "-id")[offset:offset + limit])
    return page, items.count(), items.filter(read_at__isnull=True).count()
