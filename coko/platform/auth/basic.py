"""HTTP Basic (RFC 7617), for the clients that cannot hold a token: e-reader apps browsing
OPDS feeds and following their acquisition links. Parsing only — which account the
credentials open is the accounts domain's (``accounts.api.basic_credentials_check``).
"""

from __future__ import annotations

import base64
import binascii

from django.utils.translation import gettext_lazy as _

from coko.platform.errors import DomainError

BASIC_CHALLENGE = 'Basic realm="Coko"'


class BasicRefused(DomainError):
    """401 with a ``Basic`` challenge, so readers' apps ask for the password: the same
    answer for a malformed, a wrong or an unknown credential (no enumeration)."""

    status, code, message = 401, "invalid_credentials", _("These credentials are not valid.")

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": BASIC_CHALLENGE}


def basic_credentials(value: str) -> tuple[str, str]:
    """``(identifier, password)`` of the part after ``Basic `` of an Authorization header."""
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BasicRefused() from exc
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = raw.decode("latin-1")  # RFC 7617: clients that predate charset="UTF-8"
    identifier, colon, password = decoded.partition(":")
    if not colon or not identifier or not password:
        raise BasicRefused()
    return identifier, password
