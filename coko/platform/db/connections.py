"""Database connections of long-lived processes that are not a web request cycle.

Django checks its persistent connections around each *request* (the
``request_started``/``request_finished`` signals call ``close_old_connections``).
A dramatiq worker has no requests: without this, a worker thread keeps a
connection that PostgreSQL closed (a restart, a failover, an idle timeout) and
finds out on the next message's first query. The message then fails and waits for
dramatiq's retry back-off, thread after thread, each with its own dead
connection: after a PostgreSQL restart, events took about forty seconds to flow
again.

``DatabaseConnections`` does for every message what the request cycle does for
every request, on every alias this thread has opened:

* before the message: drop connections that are too old (``CONN_MAX_AGE``) or
  left in a bad state, and arm the health check (``CONN_HEALTH_CHECKS``), so the
  first query of the message pings the server first and reconnects if the
  connection is dead;
* after the message (failed or not): close what an error left unusable, at once,
  not on the next message.
"""

from __future__ import annotations

from django.db import close_old_connections
from dramatiq.middleware import Middleware


def check_connections() -> None:
    """Close this thread's unusable or obsolete connections; health-check the rest on next use."""
    close_old_connections()


class DatabaseConnections(Middleware):
    """Check the worker thread's database connections around each message."""

    def before_process_message(self, broker, message):
        check_connections()

    def after_process_message(self, broker, message, *, result=None, exception=None):
        check_connections()

    after_skip_message = after_process_message
