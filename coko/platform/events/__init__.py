"""Events: envelope, transactional outbox, relay, inbox, dead letters.

Domains use two things from here: ``publish()`` inside their use case's
transaction, and ``@subscribe(...)`` on the handlers in their ``handlers.py``.
"""

from .envelope import Event
from .publish import PublishOutsideTransaction, publish
from .registry import subscribe

__all__ = ["Event", "PublishOutsideTransaction", "publish", "subscribe"]
