"""What a route tells the OpenAPI about its errors, beyond what its shape says.

``coko.platform.http.api.document_errors`` adds every operation's error responses from its
shape (a token, a path parameter, a body, a write). A route that answers another error
status — a 401 for credentials sent in the body, a 404 for an object named in the body, the
403 and 410 of a signed link — names it once, where it is declared::

    @router.post("/auth/login", response=TokensOut, openapi_extra=error_statuses(401))

(kept apart from ``api``, which imports every domain's routes).
"""

from __future__ import annotations

#: The operation key ``document_errors`` reads (and removes) for the extra statuses.
EXTRA_ERRORS_KEY = "x-coko-error-statuses"


def error_statuses(*statuses: int) -> dict:
    """``openapi_extra`` of a route that also answers these error statuses (documented with the envelope)."""
    return {EXTRA_ERRORS_KEY: sorted(statuses)}


#: The operation key marking a public operation that also accepts a token (``OptionalBearerAuth``).
OPTIONAL_AUTH_KEY = "x-coko-auth"

#: What the description of such an operation says, since it lists no security requirement.
OPTIONAL_AUTH_NOTE = ("Public: no token needed. A bearer token, if sent, is checked (401 when it is not "
                      "valid) and personalises the answer.")
