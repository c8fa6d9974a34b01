"""Signing in with a Google or Facebook identity the ``social`` verifiers have checked."""

from __future__ import annotations

from django.utils import timezone

from coko.platform.services import use_case

from .. import errors
from ..models import SocialAccount, User
from ._common import DB, Client, audit, limit
from .registration import account_open
from .sessions import TokenPair, session_start


@use_case(DB)
def social_login(*, identity, client: Client) -> TokenPair:
    """Log in with a verified Google/Facebook identity: the linked account, else the
    account with the same provider-verified email (linked now), else a new account."""
    limit("social_ip", client.ip)
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
