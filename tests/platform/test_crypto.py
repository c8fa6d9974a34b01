"""Personal fields are encrypted at rest (Fernet, rotating keys) and found again by a keyed hash."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.apps.registry import Apps
from django.core.exceptions import FieldError
from django.db import connections, models

from coko.platform.crypto import (
    EncryptedTextField,
    FieldDecryptionError,
    field_decrypt,
    field_encrypt,
    field_is_current,
    field_rotate,
    hashes_equal,
    keyed_hash,
    keyed_hash_matches,
    rotate_encrypted_fields,
)
from coko.devtools.testing.manage import manage as run_manage

ROOT = Path(__file__).resolve().parents[2]
A_VALID_KEY = "x1pXT9Wvq3hJ8N0lBqkKjzY6b2s1mF6TqZkz3c1Ll2Q="  # fixed: xdist workers collect the same ids


def new_key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def keys(settings):
    """Two fresh keys; the tests choose which are configured."""
    old, new = new_key(), new_key()
    settings.COKO_FIELD_KEYS = [old]
    return {"old": old, "new": new}


# --- encryption -------------------------------------------------------------------------
@pytest.mark.parametrize("clear", ["+221771234567", "", "Aïssatou Ndiaye — 🇸🇳", "x" * 5000])
def test_a_value_round_trips(clear):
    assert field_decrypt(field_encrypt(clear)) == clear


def test_the_ciphertext_is_new_on_every_call_and_is_not_the_plaintext():
    clear = "+221771234567"
    first, second = field_encrypt(clear), field_encrypt(clear)
    assert first != second  # a random IV per token
    for token in (first, second):
        assert clear not in token
        assert clear.encode() not in base64.urlsafe_b64decode(token)
        assert field_decrypt(token) == clear


def test_only_strings_are_encrypted():
    with pytest.raises(TypeError):
        field_encrypt(221771234567)


def test_a_value_encrypted_under_an_old_key_still_decrypts_after_a_new_key_is_prepended(keys, settings):
    token = field_encrypt("+221771234567")
    settings.COKO_FIELD_KEYS = [keys["new"], keys["old"]]
    assert field_decrypt(token) == "+221771234567"
    assert not field_is_current(token)
    assert Fernet(keys["new"]).decrypt(field_encrypt("fresh").encode()) == b"fresh"  # newest encrypts


def test_rotation_makes_a_token_readable_under_the_new_key_alone(keys, settings):
    token = field_encrypt("+221771234567")
    settings.COKO_FIELD_KEYS = [keys["new"], keys["old"]]
    rotated = field_rotate(token)
    assert rotated != token and field_is_current(rotated)
    settings.COKO_FIELD_KEYS = [keys["new"]]  # the old key is retired
    assert field_decrypt(rotated) == "+221771234567"
    with pytest.raises(FieldDecryptionError):
        field_decrypt(token)


def test_a_tampered_token_is_refused_with_a_clear_error():
    token = field_encrypt("+221771234567")
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[-40] ^= 0x01  # one bit of the ciphertext
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode()
    for bad in (tampered, "not a token", token[:-4]):
        with pytest.raises(FieldDecryptionError, match="tampered with") as caught:
            field_decrypt(bad)
        assert "COKO_FIELD_KEYS" in str(caught.value)
    with pytest.raises(FieldDecryptionError):
        field_rotate(tampered)


def test_a_token_under_an_unknown_key_is_refused(keys, settings):
    token = field_encrypt("+221771234567")
    settings.COKO_FIELD_KEYS = [keys["new"]]
    with pytest.raises(FieldDecryptionError):
        field_decrypt(token)


# --- keyed hashes ------------------------------------------------------------------------------
def test_the_keyed_hash_is_deterministic_hex():
    digest = keyed_hash("+221771234567", purpose="accounts.user.phone")
    assert digest == keyed_hash("+221771234567", purpose="accounts.user.phone")
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest != keyed_hash("+221771234568", purpose="accounts.user.phone")


def test_the_keyed_hash_differs_by_purpose_by_key_and_from_a_plain_sha256(settings):
    value = "reader@example.org"
    by_email = keyed_hash(value, purpose="accounts.user.email")
    assert by_email != keyed_hash(value, purpose="accounts.user.phone")
    assert by_email != hashlib.sha256(value.encode()).hexdigest()
    settings.COKO_HASH_KEY = os.urandom(32)
    assert keyed_hash(value, purpose="accounts.user.email") != by_email


def test_the_purpose_is_a_label_not_free_text():
    for purpose in ("", "Accounts Phone", "a\x00b", None):
        with pytest.raises(ValueError, match="purpose"):
            keyed_hash("x", purpose=purpose)


def test_hashes_compare_in_constant_time():
    digest = keyed_hash("+221771234567", purpose="accounts.user.phone")
    assert keyed_hash_matches("+221771234567", digest, purpose="accounts.user.phone")
    assert not keyed_hash_matches("+221771234568", digest, purpose="accounts.user.phone")
    assert hashes_equal(digest, digest.encode()) and not hashes_equal(digest, digest[:-1])


# --- the model field ---------------------------------------------------------------------------
@pytest.fixture
def secret_model():
    """A throw-away model in its own registry (no migration); its table is a temp table."""
    registry = Apps()

    class Secret(models.Model):
        id = models.BigAutoField(primary_key=True)
        phone = EncryptedTextField(null=True)
        note = EncryptedTextField(null=True, blank=True)

        class Meta:
            apps = registry
            app_label = "platform"  # routed to the accounts alias
            db_table = "coko_crypto_secret"
            managed = False

    return Secret


def create_temp_table(cursor):
    cursor.execute("CREATE TEMP TABLE coko_crypto_secret ("
                   " id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, phone text, note text)")


def test_the_field_encrypts_on_the_way_in_and_decrypts_on_the_way_out():
    field = EncryptedTextField()
    stored = field.get_prep_value("+221771234567")
    assert stored != "+221771234567" and "221771234567" not in stored
    assert field.from_db_value(stored, None, None) == "+221771234567"
    assert field.get_prep_value(None) is None
    assert field.from_db_value(None, None, None) is None


@pytest.mark.django_db(databases=["accounts"])
def test_the_field_round_trips_through_a_real_postgresql_column():
    field = EncryptedTextField()
    with connections["accounts"].cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE coko_crypto_raw (id int PRIMARY KEY, phone text)")
        cursor.execute("INSERT INTO coko_crypto_raw VALUES (1, %s), (2, %s)",
                       [field.get_prep_value("+221771234567"), field.get_prep_value(None)])
        cursor.execute("SELECT phone FROM coko_crypto_raw ORDER BY id")
        (stored,), (missing,) = cursor.fetchall()
    assert stored.startswith("gAAAAA") and "221771234567" not in stored  # a Fernet token
    assert field.from_db_value(stored, None, connections["accounts"]) == "+221771234567"
    assert field.from_db_value(missing, None, connections["accounts"]) is None


@pytest.mark.django_db(databases=["accounts"])
def test_a_model_saves_ciphertext_and_loads_clear_text(secret_model):
    with connections["accounts"].cursor() as cursor:
        create_temp_table(cursor)
        row = secret_model.objects.create(phone="+221771234567", note=None)
        cursor.execute("SELECT phone, note FROM coko_crypto_secret WHERE id = %s", [row.pk])
        stored, note = cursor.fetchone()
    assert "221771234567" not in stored and note is None
    loaded = secret_model.objects.get(pk=row.pk)
    assert (loaded.phone, loaded.note) == ("+221771234567", None)
    assert list(secret_model.objects.values_list("phone", flat=True)) == ["+221771234567"]
    assert secret_model.objects.filter(note__isnull=True).count() == 1
    assert secret_model.objects.filter(note=None).count() == 1  # = None means IS NULL


def test_the_field_cannot_be_searched(secret_model):
    for lookup in ({"phone": "+221771234567"}, {"phone__iexact": "x"}, {"phone__in": ["x"]},
                   {"phone__startswith": "+221"}, {"phone__lower": "x"}):
        with pytest.raises(FieldError, match="platform.Secret.phone is encrypted.*keyed-hash column"):
            secret_model.objects.filter(**lookup)
    assert "IS NULL" in str(secret_model.objects.filter(phone=None).query)


def test_an_encrypted_field_cannot_be_unique_or_indexed():
    registry = Apps()

    class Indexed(models.Model):
        unique_phone = EncryptedTextField(unique=True)
        indexed_phone = EncryptedTextField(db_index=True)
        phone = EncryptedTextField()

        class Meta:
            apps = registry
            app_label = "platform"

    errors = {field.name: [e.id for e in field.check()] for field in Indexed._meta.local_fields}
    assert errors["unique_phone"] == ["coko.E101"] and errors["indexed_phone"] == ["coko.E101"]
    assert errors["phone"] == []


# --- rotating a whole table --------------------------------------------------------------------
@pytest.mark.django_db(databases=["accounts"])
def test_rotate_encrypted_fields_rewrites_every_row_under_the_newest_key(secret_model, keys, settings):
    with connections["accounts"].cursor() as cursor:
        create_temp_table(cursor)
        for number in range(7):
            secret_model.objects.create(phone=f"+22177000000{number}",
                                        note=None if number % 3 == 0 else f"note {number}")
        settings.COKO_FIELD_KEYS = [keys["new"], keys["old"]]
        current = secret_model.objects.create(phone="+221770000009", note="already new")
        cursor.execute("SELECT phone FROM coko_crypto_secret WHERE id = %s", [current.pk])
        (current_token,) = cursor.fetchone()

        assert rotate_encrypted_fields(secret_model, ["phone", "note"], batch_size=3) == 7
        assert rotate_encrypted_fields(secret_model, ["phone", "note"], batch_size=3) == 0  # idempotent

        cursor.execute("SELECT id, phone, note FROM coko_crypto_secret ORDER BY id")
        rows = cursor.fetchall()
    new_only = Fernet(keys["new"])
    for pk, phone, note in rows:
        assert new_only.decrypt(phone.encode())
        assert note is None or new_only.decrypt(note.encode())
    assert dict((pk, phone) for pk, phone, _ in rows)[current.pk] == current_token  # untouched
    settings.COKO_FIELD_KEYS = [keys["new"]]
    assert sorted(secret_model.objects.values_list("phone", flat=True)) == [
        *(f"+22177000000{n}" for n in range(7)), "+221770000009"]
    assert secret_model.objects.filter(note=None).count() == 3


def test_rotate_encrypted_fields_refuses_plain_columns(secret_model):
    with pytest.raises(TypeError, match="not an EncryptedTextField"):
        rotate_encrypted_fields(secret_model, ["id"])


# --- settings ----------------------------------------------------------------------------------
def manage(*args: str, **env: str):
    """manage.py without this shell's field keys, so the defaults and errors show."""
    return run_manage(*args, unset={"COKO_FIELD_KEYS", "COKO_HASH_KEY"}, **env)


@pytest.mark.parametrize(
    "variable, value, says",
    [
        ("COKO_FIELD_KEYS", "not-a-key", "key 1 of 1 is not a Fernet key"),
        ("COKO_FIELD_KEYS", f"{A_VALID_KEY},c2hvcnQ=", "key 2 of 2 is not a Fernet key"),
        ("COKO_FIELD_KEYS", " , ", "holds no key"),
        ("COKO_HASH_KEY", "ab" * 16, "decodes to 16 bytes; at least 32 are required"),
        ("COKO_HASH_KEY", "not*base64*nor*hex", "is neither hex nor url-safe base64"),
    ],
)
def test_a_bad_key_stops_the_process_with_one_line_naming_the_variable(variable, value, says):
    result = manage("check", **{variable: value})
    assert result.returncode == 78, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"coko: configuration error: {variable}: ")
    assert says in lines[0]
    for secret in filter(None, (part.strip() for part in value.split(","))):
        assert secret not in lines[0]  # keys are never echoed
    assert "Traceback" not in result.stderr


def test_the_hash_key_must_not_be_a_field_key():
    key = Fernet.generate_key().decode()
    result = manage("check", COKO_FIELD_KEYS=key, COKO_HASH_KEY=key)
    assert result.returncode == 78
    assert "COKO_HASH_KEY: must be a separate secret" in result.stderr


def test_production_refuses_to_start_without_its_keys():
    result = manage("check", COKO_ENV="production", SECRET_KEY="s" * 60,
                    DATABASE_URL="postgresql://u@db/coko", REDIS_URL="redis://cache:6379/0")
    assert result.returncode == 78
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3
    assert "coko: configuration error: COKO_FIELD_KEYS: is required but not set" in lines
    assert "coko: configuration error: COKO_HASH_KEY: is required but not set" in lines
    assert any(line.startswith("coko: configuration error: COKO_JWT_PRIVATE_KEYS: is required in production")
               for line in lines)


SHOW_KEYS = ("import django, os, json; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
             " django.setup(); from django.conf import settings;"
             " print(json.dumps([settings.COKO_FIELD_KEYS, settings.COKO_HASH_KEY.hex()]))")


def configured_keys(**env: str) -> list:
    environ = {k: v for k, v in os.environ.items() if k not in {"COKO_FIELD_KEYS", "COKO_HASH_KEY"}}
    environ.update(env)
    result = subprocess.run([sys.executable, "-c", SHOW_KEYS], cwd=ROOT, env=environ,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_development_derives_stable_keys_from_the_secret_key_and_uses_given_keys_as_given():
    derived = configured_keys(COKO_ENV="development", SECRET_KEY="a" * 50)
    assert derived == configured_keys(COKO_ENV="development", SECRET_KEY="a" * 50)  # stable
    Fernet(derived[0][0])  # a usable key
    assert len(bytes.fromhex(derived[1])) == 32
    other = configured_keys(COKO_ENV="development", SECRET_KEY="b" * 50)
    assert other[0] != derived[0] and other[1] != derived[1]
    assert derived[1] != base64.urlsafe_b64decode(derived[0][0]).hex()  # two separate secrets

    new, old, hash_key = new_key(), new_key(), os.urandom(32)
    given = configured_keys(COKO_ENV="production", SECRET_KEY="s" * 60,
                            DATABASE_URL="postgresql://u@db/coko", REDIS_URL="redis://cache:6379/0",
                            COKO_JWT_PUBLIC_KEYS_URL="https://coko.example.org/.well-known/jwks.json",
                            COKO_FIELD_KEYS=f"{new}, {old}",
                            COKO_HASH_KEY=base64.urlsafe_b64encode(hash_key).decode().rstrip("="))
    assert given == [[new, old], hash_key.hex()]
