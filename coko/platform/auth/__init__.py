"""Authentication of the platform: access tokens (JWT), signing keys, deny-list, ninja auth.

The accounts domain *issues* tokens (it knows users, roles, sessions); every domain —
and any service extracted from the monolith — *verifies* them here, with no
database query: signature (asymmetric key named by ``kid``), claims, and a Redis
deny-list read in one round trip.

Protecting routes (any domain's ``http.py``)::

    from coko.platform.auth.ninja import BearerAuth, OptionalBearerAuth, require_permission, require_role

    router = Router(tags=["reading"], auth=BearerAuth())        # every operation needs a token

    @router.get("/books/{book_id}/download", auth=require_permission("download_books"))
    def download(request, book_id: UUID):
        user_id = request.principal.user_id                   # a Principal (also request.auth)

    @router.get("/books", auth=OptionalBearerAuth())           # readable anonymously
    def books(request):
        if request.principal is not None: ...

    def update(request, ...):                                  # inside an operation
        require_role("author")(request)                        # 401/403 envelopes when refused

``Principal`` (frozen): ``user_id``, ``roles``, ``permissions`` (frozensets), ``session_id``,
``jti``, ``expires_at``; ``has_permission(name)``, ``has_role(name)``, ``is_admin``. The
``admin`` role, or the ``*`` permission, passes every permission and role check. The
platform only *evaluates* the ``permissions`` claim: which role grants what (the RBAC table
of the brief), and object permissions, are the accounts domain's knowledge — it puts the
effective permissions into the token, and other domains ask ``accounts.api`` for
object-level checks.

The accounts domain (issuing and revoking)::

    from coko.platform.auth.tokens import access_token_issue, access_token_verify
    from coko.platform.auth.denylist import token_revoke, session_revoke, sessions_revoke

    token = access_token_issue(subject=user.id, roles=["premium"],
                               permissions=["read_books", "write_reviews", "download_books"],
                               session_id=session.id)            # ttl=COKO_ACCESS_TOKEN_TTL_S
    token_revoke(principal.jti, principal.expires_at)           # this access token only
    session_revoke(session.id)                                  # logout / stolen refresh family

Keys (``keys.py``): Ed25519 (``EdDSA``) by default, RSA (``RS256``) supported, from
``COKO_JWT_PRIVATE_KEYS`` (JSON) or ``COKO_JWT_KEYS_DIR`` (``<kid>.pem`` files) with
``COKO_JWT_ACTIVE_KID``; generated once into ``var/keys/`` in development and tests. The
public keys are served at ``/.well-known/jwks.json`` (``jwks.py``); a service that only
verifies sets ``COKO_JWT_PUBLIC_KEYS_URL`` to that address.

Rotating the signing key, without logging anyone out:

1. add the new key next to the current one and deploy (``COKO_JWT_ACTIVE_KID`` still the
   old kid): both verify, the JWKS lists both;
2. deploy with ``COKO_JWT_ACTIVE_KID`` = the new kid: new tokens carry it, tokens signed
   by the old key keep verifying until they expire;
3. after one access-token lifetime (``COKO_ACCESS_TOKEN_TTL_S``, 10 minutes) plus the
   leeway, remove the old key.

Errors: ``errors.py`` (401 ``unauthorized`` / ``invalid_token`` / ``token_expired`` /
``token_revoked``, 403 ``permission_denied``, 503 when the deny-list is unreachable — it
fails closed, see ``denylist.py``).

This package's ``__init__`` imports nothing (``config/settings.py`` imports ``keys``);
import from the submodules.
"""
