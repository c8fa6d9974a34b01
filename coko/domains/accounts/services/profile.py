"""The profile a user edits themself."""

from __future__ import annotations

from coko.platform.events import publish
from coko.platform.services import model_update, use_case

from .. import contracts, errors
from ..models import User
from ._common import DB, Client, audit, language_check

PROFILE_FIELDS = ("display_name", "preferred_language", "country", "avatar_file_id", "marketing_consent")


@use_case(DB)
def profile_update(*, user_id: str, changes: dict, client: Client) -> User:
    """Change profile fields; publishes ``user.profile.updated`` with the names that changed."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise errors.UNKNOWN_FIELDS(fields=sorted(unknown), allowed=list(PROFILE_FIELDS))
    if "preferred_language" in changes:
        language_check(changes["preferred_language"])
    data = dict(changes)
    if data.get("country"):
        data["country"] = data["country"].upper()[:2]
    user = User.objects.select_for_update().get(id=user_id)
    user, changed = model_update(instance=user, fields=[name for name in changes], data=data)
    if changed:
        publish(producer=DB, type=contracts.USER_PROFILE_UPDATED, aggregate_id=user.id,
                payload=contracts.UserProfileUpdated(user_id=str(user.id), changed=tuple(changed)))
        audit("profile.updated", user_id=user.id, client=client, fields=changed)
    return user
