"""The notifications facade: the only functions other domains may call.

Arguments and results are plain values or the frozen types of ``notifications.contracts``;
models and querysets never cross this boundary.
"""

from __future__ import annotations

from . import contracts


def notification_send(*, user_id: str, template: str, category: str, idempotency_key: str,
                      context: dict | None = None, channels: list[str] | None = None,
                      ) -> contracts.NotificationQueued:
    """Tell a user something, on the channels their preferences allow, asynchronously.

    Raises ``NotFound`` (unknown user) or ``Unprocessable`` (unknown template, category
    or channel). The same ``idempotency_key`` never sends twice.
    """
    from . import services

    return services.notification_send(user_id=user_id, template=template, category=category,
                                      idempotency_key=idempotency_key, context=context, channels=channels)
