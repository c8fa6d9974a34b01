"""Signing in with a Google or Facebook identity the ``social`` verifiers have checked.

``social_sign_in`` is the routes' entry: the per-IP limit counts every attempt first —
a forged token, a provider this deployment has not configured (404
``social_provider_not_configured``) — then the provider is asked, outside any
transaction, then ``social_login`` opens the session.
"""

from __future__ import annotations

from django.utils import timezone

from coko.platform.services import use_case

from .. import errors, social
from ..models import SocialAccount, User
from ._common import DB, Client, audit, limit
from .registration import account_open
from .sessions import TokenPair, session_start


def social_sign_in(*, provider: str, token: str, client: Client) -> TokenPair:
    """Log in with a Google ID token or a Facebook access token, under the social rate limit."""
    limit("social_ip", client.ip)
    if provider == "google":
        identity = social.google_identity_verify(id_token=token)
    elif provider == "facebook":
        identity = social.facebook_identity_verify(access_token=token)
    else:
        raise errors.SOCIAL_PROVIDER_NOT_CONFIGURED(provider=provider)
    return social_login(identity=identity, client=client)


@use_case(DB)
def social_login(*, identity, client: Client) -> TokenPair:
    """Log in with a verified Google/Facebook identity: the linked account, else the
    account with the same provider-verified email (linked now), else a new account.
    (The rate limit is the caller's: ``social_sign_in``.)"""
    link = SocialAccount.objects.select_related("user").filter(
        provider=identity.provider, subject=identity.subject).first()
    user = link.user if link else None
    email = identity.email.lower() if identity.email and identity.email_verified else None
    if user is None and email:
        user = User.objects.filter(email=email).first()
    if user is None:
        user = User(email=email, display_name=(identity.name or "")[:120],
                    email_verified_at=timezone.now() if email else None)
        user.set_unusable_password()
        user.save()
        account_open(user, via=identity.provider, client=client)
    if not user.is_active or user.deletion_requested_at is not None:
        raise errors.INVALID_CREDENTIALS()  # nothing was written for a closed account
    if link is None:
        SocialAccount.objects.create(user=user, provider=identity.provider, subject=identity.subject)
        audit("social.linked", user_id=user.id, client=client, provider=identity.provider)
    return session_start(user, client=client, method=identity.provider)
