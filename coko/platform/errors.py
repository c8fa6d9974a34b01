"""Errors the domains raise, and the one envelope every API error is sent in.

Each domain declares every code it answers once, in ``coko/domains/<d>/errors.py``::

    BOOK_NOT_FOUND = ErrorCode("catalog", "book_not_found", NotFound, _("There is no such book."),
                               details=("book_id",))

and raises ``errors.BOOK_NOT_FOUND(book_id=str(book_id))`` from services and thin edges
alike (building a ``DomainError`` from a literal code under ``coko/domains`` fails
``tests/platform/test_error_vocabulary.py``). The HTTP layer turns it (or any other
exception) into::

    {"error": {"code": "book_not_found", "message": "There is no such book.", "details": {"book_id": "…"}}}

Messages are lazy translations, rendered in the request's language (English and
French; each domain's catalogue is its ``locale/fr/LC_MESSAGES/django.po``, the
platform's ``coko/platform/locale``). Codes are stable,
machine-readable snake_case; clients branch on them, never on messages.

Mapping of exceptions that are not ``DomainError`` (``error_for_exception``):

* ninja ``ValidationError`` → 422 ``validation_error``, details = ``[{loc, msg, type}]``; a JSON
  body that is not an object (``BodyNotAnObject``, from the API's parser) too, at ``loc ["body"]``
* a body that cannot be read as JSON (ninja's ``HttpError(400)`` from its parser) → 400
  ``bad_request`` with ``details = {"reason": "body_unparsable"}``
* ninja ``HttpError`` (and its ``AuthenticationError``, ``AuthorizationError``,
  ``Throttled``) → its status
* ``Http404`` → 404 ``not_found``; Django's ``PermissionDenied`` → 403 ``permission_denied``
* request bodies over Django's limits, raised when the body is first read (``RequestDataTooBig``
  over ``DATA_UPLOAD_MAX_MEMORY_SIZE``, ``TooManyFieldsSent``, ``TooManyFilesSent``) → 413
  ``payload_too_large`` with ``details = {"reason": "body_too_large" | "too_many_fields" |
  "too_many_files", "limit": n}``; a multipart body Django cannot parse (no boundary …,
  ``MultiPartParserError``) → 400 ``bad_request`` with ``details = {"reason": "multipart_invalid"}``
* database outages (``OperationalError``, ``InterfaceError``) and Redis outages
  (``redis`` ``ConnectionError``/``TimeoutError``) → 503 ``service_unavailable``
  with ``details = {"dependency": "database" | "redis"}``
* anything else → 500 ``internal_error``, logged with its traceback and the
  request id; the client only gets the request id back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext_lazy as _
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from coko.platform.context import request_id_var
from coko.platform.observability import get_logger

log = get_logger("coko.errors")

# --- default code and message of each status ---------------------------------------------
STATUS_DEFAULTS: dict[int, tuple[str, Any]] = {
    400: ("bad_request", _("The request is malformed.")),
    401: ("unauthorized", _("Authentication is required.")),
    403: ("forbidden", _("You are not allowed to do this.")),
    404: ("not_found", _("The requested resource was not found.")),
    405: ("method_not_allowed", _("This method is not allowed on this resource.")),
    406: ("not_acceptable", _("No acceptable representation of this resource exists.")),
    409: ("conflict", _("The request conflicts with the current state of the resource.")),
    410: ("gone", _("This resource no longer exists.")),
    412: ("precondition_failed", _("A precondition of the request failed.")),
    413: ("payload_too_large", _("The request body is too large.")),
    414: ("uri_too_long", _("The request's address is too long.")),
    415: ("unsupported_media_type", _("The request body's media type is not supported.")),
    422: ("validation_error", _("The request contains invalid data.")),
    429: ("rate_limited", _("Too many requests. Try again later.")),
    431: ("request_headers_too_large", _("The request's headers are too large.")),
    500: ("internal_error", _("An unexpected error occurred.")),
    502: ("bad_gateway", _("An upstream service answered badly.")),
    503: ("service_unavailable", _("The service is temporarily unavailable. Try again later.")),
    504: ("gateway_timeout", _("An upstream service did not answer in time.")),
}
CLIENT_ERROR = ("client_error", _("The request could not be processed."))
BODY_UNREADABLE = _("The request body could not be read: send a JSON object.")
SERVER_ERROR = ("server_error", _("The server could not process the request."))


def status_defaults(status: int) -> tuple[str, Any]:
    """The default ``(code, message)`` of an HTTP error status."""
    if status in STATUS_DEFAULTS:
        return STATUS_DEFAULTS[status]
    return SERVER_ERROR if status >= 500 else CLIENT_ERROR


# --- the hierarchy domains raise ---------------------------------------------------------------
class DomainError(Exception):
    """A failure the client should hear about: HTTP status, stable code, message, details.

    ``code`` and ``message`` default to the class's; ``message`` should be a lazy
    translation (``gettext_lazy``) so it is rendered in the request's language.
    """

    status: int = 400
    code: str = "bad_request"
    message: Any = _("The request is malformed.")

    def __init__(self, code: str | None = None, message: Any = None,
                 status: int | None = None, details: Any = None) -> None:
        if code is not None:
            self.code = code
        if message is not None:
            self.message = message
        if status is not None:
            self.status = status
        self.details = details
        super().__init__(self.code, str(self.message))

    @property
    def headers(self) -> dict[str, str]:
        """Extra response headers (``Retry-After`` for the retryable kinds)."""
        return {}


class Unauthorized(DomainError):
    """401: who the caller is could not be established (bad credentials or token)."""

    status, code, message = 401, "unauthorized", STATUS_DEFAULTS[401][1]

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Bearer error="{self.code}"'}


class NotFound(DomainError):
    status, code, message = 404, "not_found", STATUS_DEFAULTS[404][1]


class Conflict(DomainError):
    status, code, message = 409, "conflict", STATUS_DEFAULTS[409][1]


class PermissionDenied(DomainError):
    status, code, message = 403, "permission_denied", STATUS_DEFAULTS[403][1]


class Unprocessable(DomainError):
    status, code, message = 422, "unprocessable", _("The request cannot be carried out as it stands.")


class _Retryable(DomainError):
    def __init__(self, code: str | None = None, message: Any = None, status: int | None = None,
                 details: Any = None, *, retry_after: int | None = None) -> None:
        super().__init__(code, message, status, details)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(0, int(self.retry_after)))} if self.retry_after is not None else {}


class RateLimited(_Retryable):
    """Too many requests; ``retry_after`` seconds go to the ``Retry-After`` header."""

    status, code, message = 429, "rate_limited", STATUS_DEFAULTS[429][1]


class ServiceUnavailable(_Retryable):
    """A dependency is down; ``retry_after`` (optional) goes to ``Retry-After``."""

    status, code, message = 503, "service_unavailable", STATUS_DEFAULTS[503][1]


# --- a domain's vocabulary -------------------------------------------------------------------------
_vocabulary: dict[str, list["ErrorCode"]] = {}  # domain -> its codes, in declaration order


@dataclass(frozen=True, eq=False)
class ErrorCode:
    """One error a domain can answer: a stable code with one message and one shape of details.

    A domain declares all of its codes in ``<domain>/errors.py`` (Saleor's ``error_codes.py``)::

        BOOK_NOT_FOUND = ErrorCode("catalog", "book_not_found", NotFound, _("There is no such book."),
                                   details=("book_id",))

    and raises ``BOOK_NOT_FOUND(book_id=str(book_id))``: the call checks that exactly the
    declared detail keys are given, so the same code never answers two shapes.
    ``details=()`` means none; ``details=None`` means free-form (a list such as validation
    errors, given as ``CODE(items=[...])``, or any mapping). ``retry_after=`` (seconds, for
    the ``Retry-After`` header) is only for the retryable kinds (``RateLimited``,
    ``ServiceUnavailable``). Code that handles a refusal tests it with ``CODE.matches(exc)``.
    """

    domain: str
    code: str
    kind: type[DomainError]
    message: Any
    details: tuple[str, ...] | None = ()
    status: int | None = None  # only where the kind's status is not the one (410 Gone, 413 …)

    def __post_init__(self) -> None:
        _vocabulary.setdefault(self.domain, []).append(self)

    def __call__(self, *, retry_after: int | None = None, **details: Any) -> DomainError:
        """The exception to raise, with these ``details``."""
        if self.details is not None and set(details) != set(self.details):
            raise TypeError(f"{self.code} takes the details {sorted(self.details)}, not {sorted(details)}")
        if self.details is None:
            payload = details.get("items", details or None)
        else:
            payload = {key: details[key] for key in self.details} or None
        if retry_after is not None and not issubclass(self.kind, _Retryable):
            raise TypeError(f"{self.code} is a {self.kind.__name__}: it takes no retry_after")
        extra = {"retry_after": retry_after} if issubclass(self.kind, _Retryable) else {}
        return self.kind(self.code, self.message, self.status, payload, **extra)

    def matches(self, exc: BaseException) -> bool:
        """Whether ``exc`` is this error (``except NotFound as exc: if BOOK_NOT_FOUND.matches(exc)``)."""
        return isinstance(exc, self.kind) and exc.code == self.code

    def __repr__(self) -> str:
        return f"<ErrorCode {self.domain}.{self.code}>"


def vocabulary() -> dict[str, list[ErrorCode]]:
    """Every declared code by domain (``autodiscover()`` imports each domain's ``errors`` first)."""
    return {domain: list(codes) for domain, codes in _vocabulary.items()}


def autodiscover() -> None:
    """Import the platform's shared codes and every domain's ``errors`` module (by name)."""
    from importlib import import_module, util

    from django.conf import settings

    import_module("coko.platform.auth.errors")
    for domain in settings.COKO_DOMAINS:
        if util.find_spec(f"coko.domains.{domain}.errors") is not None:
            import_module(f"coko.domains.{domain}.errors")


# --- the envelope ---------------------------------------------------------------------------------
@dataclass
class ApiError:
    """One error as the client sees it."""

    status: int
    code: str
    message: Any
    details: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_status(cls, status: int, *, details: Any = None, **headers: str) -> "ApiError":
        code, message = status_defaults(status)
        return cls(status, code, message, details, dict(headers))

    def response(self) -> JsonResponse:
        """The JSON response (messages are rendered in the active language)."""
        body = {"error": {"code": self.code, "message": str(self.message), "details": self.details}}
        response = JsonResponse(body, status=self.status, encoder=DjangoJSONEncoder,
                                json_dumps_params={"ensure_ascii": False})
        for name, value in self.headers.items():
            response[name] = value
        return response


def _validation_details(errors: list[dict]) -> list[dict]:
    """``[{loc, msg, type}]``: where (``["body", "email"]``, ``["query", "limit"]``), what, in
    the request's language (``coko.platform.validation``), and pydantic's stable type."""
    from coko.platform.validation import validation_message

    details = []
    for error in errors:
        loc = list(error.get("loc", ())) if isinstance(error.get("loc"), (list, tuple)) else [error.get("loc")]
        if loc[:1] == ["body"] and len(loc) >= 2:  # ninja adds the name of the operation's one body
            loc = ["body", *loc[2:]]             # parameter: the client never sees that name
        kind = str(error.get("type", "value_error"))
        details.append({
            "loc": loc,
            "msg": validation_message(type=kind, ctx=error.get("ctx"), fallback=str(error.get("msg", ""))),
            "type": kind,
        })
    return details


# --- request bodies (issue 10) ----------------------------------------------------------------------
class BodyNotAnObject(ValueError):
    """A JSON request body that is not an object (every body of the API is one)."""


def _parse_error(exc) -> ApiError | None:
    """ninja wraps a body parser's failure in ``HttpError(400)``, the cause chained."""
    cause = exc.__cause__
    if exc.status_code != 400 or cause is None:
        return None
    if isinstance(cause, BodyNotAnObject):
        return ApiError.for_status(422, details=_validation_details([{"loc": ["body"], "type": "model_type",
                                                                      "msg": "Input should be a JSON object"}]))
    return _body_error(cause) or ApiError(400, "bad_request", BODY_UNREADABLE, {"reason": "body_unparsable"})


def _body_error(exc: BaseException) -> ApiError | None:
    """413 for a body over one of Django's limits, 400 for a multipart body it cannot parse."""
    from django.conf import settings
    from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
    from django.http.multipartparser import MultiPartParserError

    if isinstance(exc, RequestDataTooBig):
        return ApiError.for_status(413, details={"reason": "body_too_large",
                                                 "limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE})
    if isinstance(exc, TooManyFieldsSent):
        return ApiError.for_status(413, details={"reason": "too_many_fields",
                                                 "limit": settings.DATA_UPLOAD_MAX_NUMBER_FIELDS})
    if isinstance(exc, TooManyFilesSent):
        return ApiError.for_status(413, details={"reason": "too_many_files",
                                                 "limit": settings.DATA_UPLOAD_MAX_NUMBER_FILES})
    if isinstance(exc, MultiPartParserError):
        return ApiError.for_status(400, details={"reason": "multipart_invalid"})
    return None


def error_for_exception(exc: BaseException) -> ApiError | None:
    """The client-facing error of a known exception, or ``None`` for a bug."""
    from ninja.errors import AuthenticationError, AuthorizationError, HttpError, Throttled
    from ninja.errors import ValidationError as NinjaValidationError

    if isinstance(exc, DomainError):
        return ApiError(exc.status, exc.code, exc.message, exc.details, exc.headers)
    if isinstance(exc, NinjaValidationError):
        return ApiError.for_status(422, details=_validation_details(exc.errors))
    if isinstance(exc, Throttled):
        headers = {"Retry-After": str(int(exc.wait))} if exc.wait is not None else {}
        return ApiError.for_status(429, **headers)
    if isinstance(exc, AuthenticationError):
        return ApiError.for_status(401, **{"WWW-Authenticate": "Bearer"})
    if isinstance(exc, AuthorizationError):
        return ApiError.for_status(exc.status_code)
    if isinstance(exc, HttpError):
        parse_error = _parse_error(exc)
        if parse_error is not None:
            return parse_error
        code, default = status_defaults(exc.status_code)
        return ApiError(exc.status_code, code, exc.message or default)
    if isinstance(exc, Http404):
        return ApiError.for_status(404)
    if isinstance(exc, DjangoPermissionDenied):
        return ApiError(403, "permission_denied", STATUS_DEFAULTS[403][1])
    body_error = _body_error(exc)
    if body_error is not None:
        return body_error
    if isinstance(exc, (DatabaseOperationalError, DatabaseInterfaceError)):
        return ApiError.for_status(503, details={"dependency": "database"})
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
        return ApiError.for_status(503, details={"dependency": "redis"})
    return None


def response_for_exception(request, exc: BaseException) -> JsonResponse:
    """The envelope response of ``exc``; outages and bugs are logged here."""
    error = error_for_exception(exc)
    if error is None:
        log.error("unhandled_exception", method=request.method, path=request.path,
                  error_type=type(exc).__name__, exc_info=exc)
        error = ApiError.for_status(500, details={"request_id": request_id_var.get()})
    elif error.status == 503 and not isinstance(exc, DomainError):
        log.warning("dependency_unavailable", method=request.method, path=request.path,
                    dependency=error.details["dependency"], error=str(exc).strip()[:300])
    return error.response()


__all__ = [
    "ApiError",
    "BodyNotAnObject",
    "Conflict",
    "DomainError",
    "ErrorCode",
    "NotFound",
    "PermissionDenied",
    "RateLimited",
    "ServiceUnavailable",
    "Unprocessable",
    "error_for_exception",
    "response_for_exception",
    "autodiscover",
    "status_defaults",
    "vocabulary",
]
