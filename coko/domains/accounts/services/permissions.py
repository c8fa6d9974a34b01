"""Roles (the brief's RBAC, as Django groups) and object permissions (django-guardian).

A revoked role takes effect at once: the user's access tokens issued before carry it, so
the revocation gives the user a new *roles version* on the Redis deny-list
(``denylist.roles_changed``) and those tokens are refused (401 ``token_revoked``, reason
``roles``) on their next request, which the verification reads in the same ``MGET`` as the
revoked tokens and sessions (no extra round trip); the client refreshes and its new token
carries the roles the user has now. The sessions stay open: nobody is logged out.
"""

from __future__ import annotations

from django.db import transaction

from coko.platform.auth import denylist
from coko.platform.observability import get_logger
from coko.platform.services import use_case

from .. import contracts, errors
from ..models import User
from ._common import DB, Client, audit, role_group

log = get_logger("coko.accounts")


def _roles_revoked(user_ids) -> None:
    """Refuse the tokens issued so far to these users; inside the caller's transaction.

    Written twice: now, so that Redis down refuses the change (503, nothing revoked —
    never an audit line saying "revoked" while the tokens still carry the role), and again
    once committed, so that a token issued between the two, with the old roles read from
    the database, is refused too.
    """
    user_ids = [str(user_id) for user_id in user_ids]
    denylist.roles_changed(user_ids)

    def again() -> None:
        try:
            denylist.roles_changed(user_ids)
        except Exception as exc:  # committed already; the first write stands
            log.warning("roles_changed_after_commit_failed", error=str(exc)[:300])

    transaction.on_commit(again, using=DB)


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
    if not grant and role == "admin" and user.is_superuser:
        # a superuser is an admin whatever their groups: removing the group would change nothing
        raise errors.SUPERUSER_IS_ADMIN(user_id=str(user.id))
    (user.groups.add if grant else user.groups.remove)(role_group(role))
    if not grant:
        _roles_revoked([user.id])
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
    if before - after:
        _roles_revoked([user_id])
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
