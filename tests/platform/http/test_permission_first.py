"""Staff-only operations refuse a reader before they read the body (issue 11).

A reader who posts anything (a bad body included) to an operation that needs a role or a
permission gets 403 ``permission_denied``: never a 422 that would show them the staff
schema, nor any work done on their input. The rule is kept by construction (the role or
permission is the operation's ``auth``, which django-ninja runs before it parses the body)
and checked here on every such operation of the API.
"""

from __future__ import annotations

import re
import uuid

import pytest

from coko.domains.accounts.contracts import ROLE_PERMISSIONS
from coko.domains.accounts.testing import user_with_roles
from coko.platform.auth.ninja import BearerAuth

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def guarded_operations() -> list[tuple[str, str]]:
    """``(method, path)`` of every API operation whose auth names a role, or a permission a reader
    lacks (a reader holds ``write_reviews``: reviewing is not a staff operation)."""
    from coko.platform.http.api import api

    found = []
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            for operation in path_view.operations:
                if any(isinstance(auth, BearerAuth)
                       and (auth.roles or not set(auth.permissions) <= ROLE_PERMISSIONS["user"])
                       for auth in operation.auth_callbacks):
                    for method in operation.methods:
                        found.append((method, re.sub("/+", "/", f"/api/v1/{prefix}/{path}")))
    return sorted(set(found))


def test_there_are_guarded_operations_to_check():
    paths = {path for _, path in guarded_operations()}
    assert "/api/v1/notifications/send" in paths
    assert "/api/v1/auth/users/{user_id}/roles" in paths


@pytest.mark.parametrize("body", [{"nonsense": True}, {}, "not json at all"])
def test_a_reader_gets_403_from_every_staff_operation_whatever_the_body(body):
    someone = user_with_roles()  # a reader: the role every account has
    for method, template in guarded_operations():
        path = re.sub(r"{[^}]+}", lambda _: str(uuid.uuid4()), template).removeprefix("/api/v1")
        if method in {"GET", "DELETE"}:
            response = someone.call(method.lower(), path)
        elif isinstance(body, str):
            response = someone.call(method.lower(), path, content_type="application/json", data=body)
        else:
            response = someone.call(method.lower(), path, body)
        assert response.status_code == 403, (method, template, response.status_code, response.data)
        assert response.data["error"]["code"] == "permission_denied", (method, template)
