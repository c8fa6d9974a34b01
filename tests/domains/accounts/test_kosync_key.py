"""KOReader's sync key (``accounts.api.kosync_user``): a keyed hash of md5(password), kept in
step with the password, remembered at a login for accounts older than it, never the md5 itself."""

from __future__ import annotations

import hashlib

import pytest

from coko.devtools.testing.api import PASSWORD, Api
from coko.domains.accounts import api
from coko.domains.accounts.models import User
from coko.platform.errors import Unauthorized

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def test_the_key_is_stored_at_sign_up_as_a_keyed_hash_not_the_md5():
    reader = Api()
    reader.register(email="awa@example.sn")
    stored = User.objects.get(id=reader.user_id).kosync_key
    assert len(stored) == 64 and md5(PASSWORD) not in stored and stored != hashlib.sha256(
        md5(PASSWORD).encode()).hexdigest()
    assert api.kosync_user(username="awa@example.sn", key=md5(PASSWORD)) == reader.user_id
    with pytest.raises(Unauthorized):
        api.kosync_user(username="awa@example.sn", key=md5(PASSWORD).upper())  # byte for byte, as KOReader's server


def test_an_account_older_than_the_key_gets_it_at_its_next_password_login():
    reader = Api()
    reader.register(email="binta@example.sn")
    User.objects.filter(id=reader.user_id).update(kosync_key="")
    with pytest.raises(Unauthorized):
        api.kosync_user(username="binta@example.sn", key=md5(PASSWORD))
    assert reader.post("/auth/login", {"identifier": "binta@example.sn", "password": PASSWORD}).status_code == 200
    assert api.kosync_user(username="binta@example.sn", key=md5(PASSWORD)) == reader.user_id


def test_an_unusable_password_has_no_key():
    user = User.objects.create_user(email="sans@example.sn", password=None)
    assert user.kosync_key == ""
