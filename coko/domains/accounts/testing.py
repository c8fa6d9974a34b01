"""Factories other domains' tests use to get people: readers, authors, staff, signed in.

Built on what a client does (``POST /auth/register``, ``/auth/login``) and on this
domain's own role service; other domains' tests import this module, never accounts'
services or models::

    from coko.domains.accounts.testing import user_with_roles

    author = user_with_roles("author")          # an Api client holding a fresh token
    author.post("/books", {...})
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
    from . import services

    n = next(_numbers)
    email = email or f"{(roles[0] if roles else 'reader')}{n}@example.sn"
    api = Api(ip=ip or client_address())
    response = api.register(email=email, display_name=display_name or f"Reader {n}", **fields)
    if response.status_code != 201:
        raise AssertionError(f"registering {email} failed: {response.status_code} {response.data}")
    for role in roles:
        services.role_grant(user_id=api.user_id, role=role, by_user_id=None,
                            client=services.Client(ip="127.0.0.1"))
    if roles:
        login = api.post("/auth/login", {"identifier": email, "password": PASSWORD})
        if login.status_code != 200:
            raise AssertionError(f"signing {email} in failed: {login.status_code} {login.data}")
        api.token = login.data["access_token"]
    return api


def anonymous(*, ip: str | None = None) -> Api:
    """A client with no token."""
    return Api(ip=ip or client_address())


__all__ = ["PASSWORD", "Api", "anonymous", "user_with_roles"]
