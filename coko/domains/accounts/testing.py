"""Factories other domains' tests use to get people: readers, authors, staff, signed in.

Built on what a client does (``POST /auth/register/start``, ``/auth/register`` with the
code the address was sent, ``/auth/login``) and on this domain's own role service; other
domains' tests import this module, never accounts' services or models::

    from coko.domains.accounts.testing import staff, user_with_roles

    author = user_with_roles("author")          # an Api client holding a fresh token
    author.post("/books", {...})
    admin = staff(email="staff@coko.africa", preferred_language="en")

What it offers:

* ``user_with_roles(*roles, email=, display_name=, ip=, **registration fields) -> Api``
* ``staff(**same) -> Api``: ``user_with_roles("admin", ...)``
* ``anonymous(ip=) -> Api``: no token
* ``role_grant_for_test(user_id=, role=)``: one more role for an existing user (sign in
  again, ``signed_in_again(api)``, for a token that carries it)
* ``console_login(client, email=)``: a Django test client signed in to the admin console
  as a superuser
* ``PASSWORD``: every factory-made user's password
"""

from __future__ import annotations

import itertools

from coko.devtools.testing.api import PASSWORD, Api, client_address

_numbers = itertools.count(1)


def user_with_roles(*roles: str, email: str | None = None, display_name: str | None = None,
                    ip: str | None = None, **fields) -> Api:
    """A registered user holding ``roles``, as a signed-in ``Api`` client.

    The token is issued after the roles are granted, so it carries their permissions;
    ``api.user_id``, ``api.email`` and ``PASSWORD`` say who it is. ``fields`` go to
    the registration (``preferred_language``, ``phone`` …).
    """
    n = next(_numbers)
    email = email or f"{(roles[0] if roles else 'reader')}{n}@example.sn"
    api = Api(ip=ip or client_address())
    response = api.register(email=email, display_name=display_name or f"Reader {n}", **fields)
    if response.status_code != 201:
        raise AssertionError(f"registering {email} failed: {response.status_code} {response.data}")
    for role in roles:
        role_grant_for_test(user_id=api.user_id, role=role)
    if roles:
        signed_in_again(api)
    return api


def staff(*, email: str | None = None, display_name: str | None = None, ip: str | None = None,
          **fields) -> Api:
    """A signed-in member of staff (the ``admin`` role: every permission)."""
    return user_with_roles("admin", email=email or f"staff{next(_numbers)}@coko.africa",
                           display_name=display_name or "Staff", ip=ip, **fields)


def anonymous(*, ip: str | None = None) -> Api:
    """A client with no token."""
    return Api(ip=ip or client_address())


def phone_add_for_test(*, user_id: str, phone: str) -> None:
    """Give an existing account a (verified) phone number too: a sign-up proves one address,
    so an account with both an email and a phone is made in two steps in tests."""
    from django.utils import timezone

    from .models import User
    from .selectors import phone_hash
    from .services import phone_normalize

    e164 = phone_normalize(phone)
    User.objects.filter(id=user_id).update(phone=e164, phone_hash=phone_hash(e164), phone_verified_at=timezone.now())


def role_grant_for_test(*, user_id: str, role: str) -> None:
    """Give an existing user one more role, as staff would (audited as granted by nobody).

    Tokens issued before keep their old permissions: ``signed_in_again(api)`` for a new one.
    """
    from . import services

    services.role_grant(user_id=str(user_id), role=role, by_user_id=None, client=services.Client(ip="127.0.0.1"))


def signed_in_again(api: Api) -> Api:
    """Log ``api``'s user in again (``api.email`` and ``PASSWORD``) so its token carries its roles now."""
    login = api.post("/auth/login", {"identifier": api.email, "password": PASSWORD})
    if login.status_code != 200:
        raise AssertionError(f"signing {api.email} in failed: {login.status_code} {login.data}")
    api.token = login.data["access_token"]
    return api


def console_login(client, *, email: str = "staff@coko.africa") -> None:
    """Sign a Django test ``client`` in to the admin console as a new superuser ``email``."""
    from .models import User

    client.force_login(User.objects.create_superuser(email, "a long staff passphrase"))


__all__ = ["PASSWORD", "Api", "anonymous", "console_login", "role_grant_for_test", "signed_in_again", "staff",
           "user_with_roles"]
