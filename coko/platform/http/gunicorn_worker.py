"""The web process's gunicorn worker: gunicorn's own error answers are the API's envelope.

gunicorn answers some requests itself, before Django sees them: a request line over
``limit_request_line`` (414), headers over ``limit_request_fields`` /
``limit_request_field_size`` (431), a malformed request line or header (400) … It writes
them with ``gunicorn.util.write_error``, as a small HTML page, and has no setting for it.
``EnvelopeWorker`` (``worker_class`` in ``infra/gunicorn.conf.py``) is gunicorn's threaded
worker with that one function replaced in its process, so those answers are
``{"error": {"code", "message", "details"}}`` like every other error (in the default
language: the request's headers may not have been read).
"""

from __future__ import annotations

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker


def envelope_bytes(status: int, reason: str) -> bytes:
    """The whole HTTP/1.1 answer of a ``status`` gunicorn refused on its own (connection closed)."""
    from django.conf import settings
    from django.utils import translation

    from coko.platform.errors import ApiError

    with translation.override(settings.LANGUAGE_CODE):
        body = ApiError.for_status(status).response().content
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "X-Content-Type-Options: nosniff\r\n\r\n")
    return head.encode("latin-1") + body


def write_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """``gunicorn.util.write_error``'s replacement (same signature; ``mesg`` is gunicorn's
    description of the fault, which the client does not need: it is in gunicorn's log)."""
    util.write_nonblock(sock, envelope_bytes(status_int, reason))


class EnvelopeWorker(ThreadWorker):
    """gunicorn's ``gthread`` worker whose own error answers are the envelope."""

    def init_process(self) -> None:
        util.write_error = write_error  # this worker process only; gunicorn calls util.write_error
        super().init_process()
