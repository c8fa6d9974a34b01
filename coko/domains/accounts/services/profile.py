"""The profile a user edits themself.

A change travels as a ``ProfileChanges`` value: each field is ``UNSET`` unless the request
gave it (``None`` is a value). The dataclass is the list of fields a profile change may set.

The avatar is the one field accounts cannot check alone: it must be an image the user owns,
which only the files domain knows (and accounts calls no other domain). So a user keeps or
clears it here, and chooses a new one through files (``PUT /api/v1/files/avatar``), which
checks the file and then calls ``accounts.api.avatar_set``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from uuid import UUID

from coko.platform.contracts import UNSET, Unset, given
from coko.platform.events import publish
from coko.platform.services import model_update, use_case

from .. import contracts, errors
from ..models import User
from ._common import DB, Client, audit, language_check



@dataclass(frozen=True)
class ProfileChanges:
    """What a user asks to change in their profile; a field left ``UNSET`` is not touched."""

    display_name: str | None | Unset = UNSET
    preferred_language: str | None | Unset = UNSET
    country: str | None | Unset = UNSET
    avatar_file_id: UUID | None | Unset = UNSET
    marketing_consent: bool | None | Unset = UNSET

    def given(self) -> dict[str, object]:
        """The fields the request gave, by name."""
        return given(self)


#: the profile's fields a user may change (the columns of ``User`` of the same names)
PROFILE_FIELDS = tuple(f.name for f in fields(ProfileChanges))


@use_case(DB)
def profile_update(*, user_id: str, changes: ProfileChanges, client: Client, avatar_checked: bool = False) -> User:
    """Change profile fields; publishes ``user.profile.updated`` with the names that changed.

    A new ``avatar_file_id`` is refused (``avatar_invalid``) unless ``avatar_checked``: the
    files domain found it to be an image the user owns."""
    if changes.preferred_language is not UNSET:
        language_check(changes.preferred_language)
    if changes.country:
        changes = replace(changes, country=changes.country.upper()[:2])
    user = User.objects.select_for_update().get(id=user_id)
    if not avatar_checked and changes.avatar_file_id not in (UNSET, None, user.avatar_file_id):
        raise errors.AVATAR_INVALID(field="avatar_file_id")
    user, changed = model_update(instance=user, fields=PROFILE_FIELDS, data=changes.given())
    if changed:
        publish(producer=DB, type=contracts.USER_PROFILE_UPDATED, aggregate_id=user.id,
                payload=contracts.UserProfileUpdated(user_id=str(user.id), changed=tuple(changed)))
        audit("profile.updated", user_id=user.id, client=client, fields=changed)
    return user


@use_case(DB)
def phone_reveal_audit(*, user_id, by_user_id, client: Client, via: str) -> None:
    """Staff were shown a user's phone number in clear (the admin console's user page)."""
    audit("phone.revealed", user_id=user_id, client=client, by_user_id=str(by_user_id), via=via)
