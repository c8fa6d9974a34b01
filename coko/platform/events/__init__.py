"""Events: envelope, transactional outbox, relay, inbox, dead letters.

Domains use two things from here: ``publish()`` inside their use case's
transaction, and ``@subscribe(...)`` on the handlers in their ``handlers.py``. What a
domain publishes is declared in its ``contracts.py`` (``EVENTS``, see
``coko.platform.contracts``); handlers read ``event.payload_as(PayloadClass)``.
"""

from coko.platform.contracts import EventPayload, PayloadVersionError

from .declared import UndeclaredEvent, declare
from .envelope import Event
from .publish import PublishOutsideTransaction, publish
from .registry import subscribe

__all__ = ["Event", "EventPayload", "PayloadVersionError", "PublishOutsideTransaction", "UndeclaredEvent",
           "declare", "publish", "subscribe"]
