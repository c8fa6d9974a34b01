"""``/.well-known/jwks.json``: the public keys that verify access tokens (RFC 7517).

Every key this process verifies with — the active one first, then the
verification-only keys kept for a rotation — with ``kid``, ``alg`` and ``use: sig``.
An extracted service points ``COKO_JWT_PUBLIC_KEYS_URL`` here (or builds
``KeySet.from_jwks(document)``) and verifies tokens without calling accounts.
Cacheable for five minutes (``Cache-Control: public, max-age=300``; an ETag from
``ConditionalGetMiddleware``); verifiers fetch again when they meet an unknown kid.
"""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from coko.platform.auth import tokens  # noqa: F401 - registers the settings-change receiver
from coko.platform.auth.keys import current_keys

MAX_AGE_S = 300


def jwks_document() -> dict[str, list[dict[str, str]]]:
    """``{"keys": [...]}``: every public key of this process."""
    return current_keys().jwks()


@require_safe
def jwks_view(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(jwks_document())
    response["Cache-Control"] = f"public, max-age={MAX_AGE_S}"
    return response


__all__ = ["MAX_AGE_S", "jwks_document", "jwks_view"]
