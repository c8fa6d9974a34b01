"""Roles (the brief's RBAC, as Django groups) and object permissions (django-guardian)."""

from __future__ import annotations

from coko.platform.services import use_case

from .. import contracts, errors
from ..models import User
from ._common import DB, Client, audit, role_group


# --- roles ---------------------------------------------------------------------------------------------
def role_grant(*, user_id: str, role: str, by_user_id: str | None, client: Client) -> None:
    _role_change(user_id=user_id, role=role, by_user_id=by_user_id, client=client, grant=True)


def role_revoke(*, user_id: str, role: str, by_user_id: str | None, client: Client) -> None:
    _role_change(user_id=user_id, role=role, by_user_id=by_user_id, client=client, grant=False)


@use_case(DB)
def _role_change(*, user_id, role, by_user_id, client, grant: bool) -> None:
    if role not in contracts.ROLES:
        raise errors.UNKNOWN_ROLE(field="role", allowed=list(contracts.ROLES))
    user = User.objects.filter(id=user_id).first()
    if user is None:
        raise errors.USER_NOT_FOUND(user_id=str(user_id))
    if not grant and str(user.id) == str(by_user_id) and role == "admin":
        raise errors.CANNOT_DEMOTE_SELF()
    (user.groups.add if grant else user.groups.remove)(role_group(role))
    audit("role.granted" if grant else "role.revoked", user_id=user.id, client=client,
          role=role, by=str(by_user_id) if by_user_id else None)


def roles_changed_audit(*, user_id, before: set[str], after: set[str], by_user_id, client: Client,
                        via: str) -> None:
    """Audit the roles a staff member granted and revoked in another tool (the admin console).

    Not a use case: runs inside the caller's transaction (the console saves the user's groups
    and this audit together).
    """
    changes = [(role, "role.granted") for role in sorted(after - before)]
    changes += [(role, "role.revoked") for role in sorted(before - after)]
    for role, action in changes:
        audit(action, user_id=user_id, client=client, role=role, by=str(by_user_id), via=via)


# --- object permissions (django-guardian) --------------------------------------------------------------
def _object_permission(kind: str, permission: str):
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    app_label, _sep, model = kind.partition(".")
    content_type = ContentType.objects.filter(app_label=app_label, model=model).first()
    perm = (Permission.objects.filter(content_type=content_type, codename=permission).first()
            if content_type else None)
    if perm is None:
        raise errors.UNKNOWN_PERMISSION(kind=kind, permission=permission)
    return content_type, perm


@use_case(DB)
def object_permission_grant(*, user_id: str, permission: str, kind: str, object_id: str) -> None:
    """Grant one user a permission on one object of any domain (stored by django-guardian)."""
    from guardian.models import UserObjectPermission

    content_type, perm = _object_permission(kind, permission)
    UserObjectPermission.objects.get_or_create(
        user_id=user_id, permission=perm, content_type=content_type, object_pk=str(object_id))
    audit("object_permission.granted", user_id=user_id, client=Client(), permission=permission,
          kind=kind, object_id=str(object_id))


@use_case(DB)
def object_permission_revoke(*, user_id: str, permission: str, kind: str, object_id: str) -> None:
    from guardian.models import UserObjectPermission

    content_type, perm = _object_permission(kind, permission)
    UserObjectPermission.objects.filter(
        user_id=user_id, permission=perm, content_type=content_type, object_pk=str(object_id)).delete()
    audit("object_permission.revoked", user_id=user_id, client=Client(), permission=permission,
          kind=kind, object_id=str(object_id))
