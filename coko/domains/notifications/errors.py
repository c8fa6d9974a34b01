"""Every error the notifications domain answers: one code, one message, one shape of details."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from coko.platform.auth import errors as auth_errors
from coko.platform.errors import ErrorCode, NotFound, Unprocessable

D = "notifications"

# --- sending --------------------------------------------------------------------------------------------
UNKNOWN_CATEGORY = ErrorCode(D, "unknown_category", Unprocessable, _("There is no such category."),
                             details=("categories",))
UNKNOWN_CHANNEL = ErrorCode(D, "unknown_channel", Unprocessable, _("This channel does not exist."),
                            details=("channels", "allowed"))
CHANNEL_NOT_CONFIGURED = ErrorCode(D, "channel_not_configured", Unprocessable,
                                   _("This server is not set up to send on this channel."),
                                   details=("channels",))
INVALID_IDEMPOTENCY_KEY = ErrorCode(D, "invalid_idempotency_key", Unprocessable,
                                    _("The idempotency key is missing or too long."))
# the same message as accounts' user_not_found
USER_NOT_FOUND = ErrorCode(D, "user_not_found", NotFound, _("No user has this id."), details=("user_id",))
UNKNOWN_TEMPLATE = ErrorCode(D, "unknown_template", Unprocessable, _("This notification template does not exist."),
                             details=("template",))
PERMISSION_DENIED = auth_errors.PERMISSION_DENIED  # the platform's: one code, one shape in every domain

# --- the inbox ------------------------------------------------------------------------------------------
NOTIFICATION_NOT_FOUND = ErrorCode(D, "notification_not_found", NotFound, _("No notification has this id."),
                                   details=("id",))

# --- preferences and devices ----------------------------------------------------------------------------
INVALID_PREFERENCE = ErrorCode(D, "invalid_preference", Unprocessable, _("This category or channel cannot be set."),
                               details=("category", "channel"))
INVALID_TIME_ZONE = ErrorCode(D, "invalid_time_zone", Unprocessable, _("This time zone does not exist."),
                              details=("time_zone",))
INVALID_QUIET_HOURS = ErrorCode(D, "invalid_quiet_hours", Unprocessable,
                                _("Quiet hours need both a start and an end."))
INVALID_DEVICE_KIND = ErrorCode(D, "invalid_device_kind", Unprocessable, _("This device kind does not exist."),
                                details=("kind", "allowed"))
INVALID_DEVICE_TOKEN = ErrorCode(D, "invalid_device_token", Unprocessable, _("This device token is not valid."),
                                 details=("kind",))

# --- outbound requests (SSRF): where a device's web push endpoint may point ---------------------------
PUSH_ENDPOINT_REFUSED = ErrorCode(D, "push_endpoint_refused", Unprocessable,
                                  _("A web push endpoint must be an https URL of a known push service."),
                                  details=("kind", "reason"))
