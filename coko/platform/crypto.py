"""Personal fields encrypted at rest, and keyed hashes to find them again.

Two secrets, both from the environment (``config/settings.py``, block "field encryption"):

* ``COKO_FIELD_KEYS`` — Fernet keys, comma-separated, **newest first**. The first key
  encrypts; every key decrypts (``MultiFernet``). To rotate: prepend a new key, deploy,
  run the domain's re-encryption command (built on :func:`rotate_encrypted_fields`),
  then drop the old key.
* ``COKO_HASH_KEY`` — a separate secret (≥ 32 bytes, hex or url-safe base64) for
  :func:`keyed_hash`. It cannot be rotated by prepending: changing it orphans every
  stored hash, which must then be recomputed from the decrypted values.

Both are required in production. In development and tests, when unset, they are derived
from ``SECRET_KEY`` with HKDF (development only), so ``make run`` needs no setup.

The pattern: an encrypted column for the value, a keyed-hash column for lookups
---------------------------------------------------------------------------------
A Fernet token uses a fresh random IV on every write, so the encrypted column can be
read but never searched. A sibling ``<field>_hash`` column holds the HMAC of the
*normalised* value, with a unique index: it answers "which account has this phone
number?" and enforces uniqueness, without the clear value in the database::

    from coko.platform.crypto import EncryptedTextField, keyed_hash

    PHONE_PURPOSE = "accounts.user.phone"

    class User(models.Model):
        phone = EncryptedTextField(null=True, blank=True)          # the value, encrypted
        phone_hash = models.CharField(max_length=64, null=True,     # HMAC-SHA256, hex
                                      unique=True, editable=False)  # NULLs never collide

        def set_phone(self, e164: str | None) -> None:               # always both together
            self.phone = e164
            self.phone_hash = None if e164 is None else keyed_hash(e164, purpose=PHONE_PURPOSE)

    # login: normalise exactly as on write (E.164 for phones), then look up the hash
    User.objects.get(phone_hash=keyed_hash(to_e164(raw), purpose=PHONE_PURPOSE))

Notes: ``EncryptedTextField`` refuses every lookup but ``isnull`` (and ``= None``) with a
clear ``FieldError``; it must not be ``unique`` or indexed (a system check says so).
Serialisation (``dumpdata``) writes the clear value: treat fixtures as secrets.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core import checks
from django.core.exceptions import FieldError
from django.db import models, router, transaction
from django.db.models.lookups import Exact

__all__ = [
    "EncryptedTextField",
    "FieldDecryptionError",
    "field_decrypt",
    "field_encrypt",
    "field_is_current",
    "field_rotate",
    "hashes_equal",
    "keyed_hash",
    "keyed_hash_matches",
    "rotate_encrypted_fields",
]

_PURPOSE = re.compile(r"[a-z][a-z0-9_.:-]*")
_HASH_LABEL = b"coko.keyed_hash.v1"


class FieldDecryptionError(ValueError):
    """A stored token cannot be decrypted: malformed, tampered with, or under an unknown key."""


# --- the keys ------------------------------------------------------------------------------
@functools.lru_cache(maxsize=8)
def _keyring(keys: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    if not keys:
        raise FieldError("COKO_FIELD_KEYS is empty: field encryption has no key")
    fernets = [Fernet(key) for key in keys]
    return MultiFernet(fernets), fernets[0]


def _keys() -> tuple[MultiFernet, Fernet]:
    return _keyring(tuple(settings.COKO_FIELD_KEYS))


def _decryption_error(exc: Exception) -> FieldDecryptionError:
    error = FieldDecryptionError(
        "cannot decrypt an encrypted field value: the token is malformed, was tampered with, "
        "or was encrypted under a key that is no longer in COKO_FIELD_KEYS"
    )
    error.__cause__ = exc
    return error


def _token_bytes(token: str | bytes) -> bytes:
    if isinstance(token, str):
        return token.encode("ascii", "replace")
    if isinstance(token, bytes):
        return token
    raise TypeError(f"an encrypted token is a str, not {type(token).__name__}")


# --- encryption ----------------------------------------------------------------------------
def field_encrypt(value: str) -> str:
    """Encrypt ``value`` with the newest key: a Fernet token (url-safe ASCII), new IV each call."""
    if not isinstance(value, str):
        raise TypeError(f"field_encrypt() takes a str, not {type(value).__name__}")
    multi, _primary = _keys()
    return multi.encrypt(value.encode("utf-8")).decode("ascii")


def field_decrypt(token: str) -> str:
    """The clear value of a token made under any key in ``COKO_FIELD_KEYS``.

    Raises :class:`FieldDecryptionError` when the token is malformed, tampered with or
    made under a key that is no longer configured.
    """
    multi, _primary = _keys()
    try:
        return multi.decrypt(_token_bytes(token)).decode("utf-8")
    except (InvalidToken, UnicodeDecodeError) as exc:
        raise _decryption_error(exc) from exc


def field_rotate(token: str) -> str:
    """Re-encrypt ``token`` under the newest key (``MultiFernet.rotate``; timestamp kept)."""
    multi, _primary = _keys()
    try:
        return multi.rotate(_token_bytes(token)).decode("ascii")
    except InvalidToken as exc:
        raise _decryption_error(exc) from exc


def field_is_current(token: str) -> bool:
    """Whether ``token`` already decrypts under the newest key alone (nothing to rotate)."""
    _multi, primary = _keys()
    try:
        primary.decrypt(_token_bytes(token))
    except InvalidToken:
        return False
    return True


# --- keyed hashes --------------------------------------------------------------------------
def keyed_hash(value: str, *, purpose: str) -> str:
    """HMAC-SHA256 of ``value`` under ``COKO_HASH_KEY``, as 64 hex characters.

    Deterministic, so it can be stored in a unique, indexed column and looked up; keyed,
    so a leaked table cannot be reversed by hashing every phone number.

    ``purpose`` separates domains of use (``"accounts.user.phone"``, ``"accounts.user.email"``):
    the same value hashed for two purposes gives unrelated digests. It is lower-case ASCII
    (letters, digits, ``_ . : -``) and must never change once hashes are stored.

    **Callers normalise first**, identically on write and on lookup — a phone number in
    E.164 (``+221771234567``, via ``phonenumbers``), an email address stripped and
    lower-cased — since ``"+221 77 123 45 67"`` and ``"+221771234567"`` hash differently.
    """
    if not isinstance(value, str):
        raise TypeError(f"keyed_hash() takes a str, not {type(value).__name__}")
    if not isinstance(purpose, str) or not _PURPOSE.fullmatch(purpose):
        raise ValueError(
            f"keyed_hash() purpose {purpose!r} must be lower-case ASCII: letters, digits, _ . : -"
        )
    # label NUL purpose NUL value: the purpose holds no NUL, so no two pairs collide.
    message = b"\x00".join((_HASH_LABEL, purpose.encode("ascii"), value.encode("utf-8")))
    return hmac.new(settings.COKO_HASH_KEY, message, hashlib.sha256).hexdigest()


def hashes_equal(a: str | bytes, b: str | bytes) -> bool:
    """Constant-time comparison of two digests (or any two secrets)."""
    if isinstance(a, str):
        a = a.encode("utf-8")
    if isinstance(b, str):
        b = b.encode("utf-8")
    return hmac.compare_digest(a, b)


def keyed_hash_matches(value: str, digest: str, *, purpose: str) -> bool:
    """Whether ``digest`` is ``keyed_hash(value, purpose=purpose)``, compared in constant time."""
    return hashes_equal(keyed_hash(value, purpose=purpose), digest)


# --- the model field -----------------------------------------------------------------------
def _field_label(field) -> str:
    model = getattr(field, "model", None)
    if model is not None and getattr(field, "name", None):
        return f"{model._meta.label}.{field.name}"
    return f"EncryptedTextField {getattr(field, 'name', None) or ''}".rstrip()


def _lookup_refused(field, lookup: str) -> FieldError:
    return FieldError(
        f"{_field_label(field)} is encrypted at rest (a new random IV on every write), so it "
        f"cannot be queried with {lookup!r}; only isnull (or = None) works. Look rows up by "
        f"its keyed-hash column instead (see coko.platform.crypto)."
    )


class _NullOnlyExact(Exact):
    """``field=None`` becomes ``IS NULL`` (Django turns it into isnull); any value is refused."""

    def __init__(self, lhs, rhs):
        if rhs is not None:
            raise _lookup_refused(getattr(lhs, "output_field", None), "exact")
        super().__init__(lhs, rhs)


class EncryptedTextField(models.TextField):
    """A text column holding a Fernet token; the Python value is the clear string.

    ``None`` stays ``None`` (SQL NULL). Writes encrypt with the newest key in
    ``COKO_FIELD_KEYS`` (``get_prep_value``), reads decrypt with any of them
    (``from_db_value``). Not searchable: every lookup but ``isnull`` raises
    ``FieldError`` — pair the field with a ``<field>_hash`` column (module docstring).
    """

    description = "Text encrypted at rest (Fernet)"

    def get_prep_value(self, value):
        value = super().get_prep_value(value)  # lazy strings resolved, non-str → str
        if value is None:
            return None
        return field_encrypt(value)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return field_decrypt(value)

    def get_lookup(self, lookup_name):
        if lookup_name == "isnull":
            return super().get_lookup(lookup_name)
        if lookup_name == "exact":
            return _NullOnlyExact
        raise _lookup_refused(self, lookup_name)

    def get_transform(self, lookup_name):
        raise _lookup_refused(self, lookup_name)

    def check(self, **kwargs):
        errors = super().check(**kwargs)
        for option in ("primary_key", "unique", "db_index"):
            if getattr(self, option, False):
                errors.append(checks.Error(
                    f"EncryptedTextField cannot be {option}: its ciphertext differs on every "
                    f"write, so an index or constraint on it means nothing.",
                    hint="Put the unique index on a <field>_hash column filled with keyed_hash().",
                    obj=self,
                    id="coko.E101",
                ))
                break
        return errors


# --- key rotation over a table -------------------------------------------------------------
def rotate_encrypted_fields(model: type[models.Model], field_names: Iterable[str] | str, *,
                            batch_size: int = 500) -> int:
    """Re-encrypt ``field_names`` of every row of ``model`` under the newest key.

    Works on any model with :class:`EncryptedTextField` columns, on the alias the router
    gives for writes. Rows are walked in primary-key order, ``batch_size`` at a time, each
    batch locked (``SELECT … FOR UPDATE``) and rewritten in one transaction with one
    ``UPDATE``; tokens already under the newest key are left alone, so the run can be
    interrupted and repeated. Keyed hashes are untouched (they do not depend on the field
    keys). Returns the number of rows rewritten. A token no key can decrypt raises
    :class:`FieldDecryptionError` (its batch is rolled back; earlier batches stay done).
    """
    names: Sequence[str] = [field_names] if isinstance(field_names, str) else list(field_names)
    if not names:
        raise ValueError("rotate_encrypted_fields() needs at least one field name")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    for name in names:
        field = model._meta.get_field(name)
        if not isinstance(field, EncryptedTextField):
            raise TypeError(f"{model._meta.label}.{name} is not an EncryptedTextField")

    alias = router.db_for_write(model)
    manager = model._base_manager.db_manager(alias)
    # The stored tokens, read as plain text (no from_db_value: nothing is decrypted here).
    raw = {f"coko_raw_{index}": models.ExpressionWrapper(models.F(name), output_field=models.TextField())
           for index, name in enumerate(names)}
    rewritten = 0
    last_pk = None
    while True:
        with transaction.atomic(using=alias):
            query = manager.order_by("pk")
            if last_pk is not None:
                query = query.filter(pk__gt=last_pk)
            rows = list(query.select_for_update().annotate(**raw)
                        .values_list("pk", *raw)[:batch_size])
            if not rows:
                break
            last_pk = rows[-1][0]
            changes: dict[str, list[tuple[object, str]]] = {name: [] for name in names}
            touched = set()
            for pk, *tokens in rows:
                for name, token in zip(names, tokens):
                    if token is not None and not field_is_current(token):
                        changes[name].append((pk, field_rotate(token)))
                        touched.add(pk)
            if touched:
                manager.filter(pk__in=touched).update(**{
                    name: models.Case(
                        *[models.When(pk=pk, then=models.Value(token, output_field=models.TextField()))
                          for pk, token in pairs],
                        default=models.F(name),
                        output_field=models.TextField(),
                    )
                    for name, pairs in changes.items() if pairs
                })
                rewritten += len(touched)
        if len(rows) < batch_size:
            break
    return rewritten
