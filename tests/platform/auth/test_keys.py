"""Signing keys: from the environment in production, generated once in development."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from coko.platform.auth import keys as keys_module
from coko.platform.auth.keys import (
    KeyConfigurationError,
    KeySet,
    configuration_problem,
    ensure_dev_keys,
    generate_key,
    key_from_objects,
    key_pem,
    keys_from_settings,
    load_keys_dir,
    parse_keys_json,
)
from coko.platform.auth.tokens import access_token_issue, access_token_verify
from coko.devtools.testing.manage import manage

ROOT = Path(__file__).resolve().parents[3]


def public(key):
    return type(key)(key.kid, key.alg, key.public_key)


# --- development keys ---------------------------------------------------------------------------
def test_a_development_key_is_generated_once_private_to_its_owner_and_reused(tmp_path):
    directory = tmp_path / "keys"
    keys, active = ensure_dev_keys(directory)
    (file,) = directory.glob("*.pem")
    assert file.stem == active and [key.kid for key in keys] == [active]
    assert keys[0].alg == "EdDSA" and keys[0].can_sign
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700

    again, active_again = ensure_dev_keys(directory)  # a restart: same key, sessions survive
    assert active_again == active and len(list(directory.glob("*.pem"))) == 1
    assert key_pem(again[0]) == key_pem(keys[0])


def test_settings_without_keys_in_development_use_the_generated_key(settings, tmp_path, token_keys):
    settings.COKO_JWT = {**settings.COKO_JWT, "KEYS": (), "ACTIVE_KID": None,
                         "DEV_KEYS_DIR": tmp_path / "keys"}
    token = access_token_issue(subject="u", roles=[], permissions=[], session_id="s")
    keys_module.reset_current_keys()  # a new process, same directory
    assert access_token_verify(token).user_id == "u"


def test_the_project_settings_of_the_test_profile_point_at_var_keys():
    from config import settings as project  # as loaded, before this package's fixtures

    assert project.COKO_ENV == "test" and project.COKO_JWT["KEYS"] == ()
    assert Path(project.COKO_JWT["DEV_KEYS_DIR"]) == ROOT / "var" / "keys"


def test_without_any_key_the_process_cannot_start_issuing():
    with pytest.raises(KeyConfigurationError):
        keys_from_settings({"KEYS": (), "DEV_KEYS_DIR": None, "PUBLIC_KEYS_URL": None})


# --- keys from the environment ------------------------------------------------------------------
def test_keys_are_read_from_json_with_their_kid():
    a, b = generate_key("2026-10"), generate_key("2026-11", alg="RS256")
    value = json.dumps([{"kid": a.kid, "pem": key_pem(a)}, {"kid": b.kid, "pem": key_pem(public(b))}])
    loaded = parse_keys_json(value)
    assert [(k.kid, k.alg, k.can_sign) for k in loaded] == [("2026-10", "EdDSA", True),
                                                            ("2026-11", "RS256", False)]


def test_keys_are_read_from_a_directory_of_kid_pem_files(tmp_path):
    for key in (generate_key("old"), generate_key("new")):
        (tmp_path / f"{key.kid}.pem").write_text(key_pem(key))
    assert sorted(key.kid for key in load_keys_dir(tmp_path)) == ["new", "old"]


@pytest.mark.parametrize("value, says", [
    ("not json", "is not valid JSON"),
    ("{}", "non-empty JSON list"),
    ('[{"kid": "a"}]', "\"kid\" and \"pem\""),
    ('[{"kid": "a", "pem": "garbage"}]', "key 'a': not a PEM private or public key"),
    ('[{"kid": "bad kid!", "pem": "x"}]', "kid 'bad kid!' is not valid"),
])
def test_bad_json_keys_are_explained(value, says):
    with pytest.raises(ValueError, match=None) as caught:
        parse_keys_json(value)
    assert says in str(caught.value)


def test_duplicate_kids_and_weak_or_unsupported_keys_are_refused():
    a = generate_key("same")
    with pytest.raises(ValueError, match="configured twice"):
        parse_keys_json(json.dumps([{"kid": "same", "pem": key_pem(a)}] * 2))
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValueError, match="at least 2048 bits"):
        key_from_objects("weak", weak)
    with pytest.raises(ValueError, match="only Ed25519"):
        key_from_objects("ec", ec.generate_private_key(ec.SECP256R1()))


def test_the_active_key_must_be_named_when_several_can_sign_and_must_be_private():
    a, b = generate_key("a"), generate_key("b")
    assert "several private keys" in configuration_problem(
        keys=(a, b), active_kid=None, public_keys_url=None, production=True)
    assert "names no configured key" in configuration_problem(
        keys=(a,), active_kid="zzz", public_keys_url=None, production=True)
    assert "must be private" in configuration_problem(
        keys=(a, public(b)), active_kid="b", public_keys_url=None, production=True)
    assert configuration_problem(keys=(a, b), active_kid="b", public_keys_url=None,
                                 production=True) is None
    assert KeySet([a, public(b)]).active_kid == "a"  # the only private key signs


def test_production_needs_keys_or_a_jwks_url():
    assert configuration_problem(keys=(), active_kid=None, public_keys_url=None,
                                 production=True).startswith("COKO_JWT_PRIVATE_KEYS: is required")
    assert configuration_problem(keys=(), active_kid=None, public_keys_url="https://coko/jwks",
                                 production=True) is None
    assert configuration_problem(keys=(), active_kid=None, public_keys_url=None,
                                 production=False) is None


# --- at start-up --------------------------------------------------------------------------------
def manage_check(**env):
    return manage("check", **env)


@pytest.mark.parametrize("variable, value, says", [
    ("COKO_JWT_PRIVATE_KEYS", "[{\"kid\": \"k1\", \"pem\": \"nope\"}]", "not a PEM"),
    ("COKO_JWT_KEYS_DIR", "/nonexistent/keys", "is not a directory"),
    ("COKO_JWT_ACTIVE_KID", "no such kid", "does not match"),
    ("COKO_JWT_PUBLIC_KEYS_URL", "ftp://keys", "does not match"),
    ("COKO_ACCESS_TOKEN_TTL_S", "5", "below the minimum 30"),
])
def test_a_bad_token_setting_stops_the_process_with_one_line_naming_it(variable, value, says):
    result = manage_check(**{variable: value})
    assert result.returncode == 78, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"coko: configuration error: {variable}: ") and says in lines[0]
    assert "BEGIN" not in result.stderr  # never key material


def test_an_active_kid_naming_no_configured_key_stops_the_process(tmp_path):
    (tmp_path / "k1.pem").write_text(key_pem(generate_key("k1")))
    result = manage_check(COKO_JWT_KEYS_DIR=str(tmp_path), COKO_JWT_ACTIVE_KID="k2")
    assert result.returncode == 78
    assert result.stderr.strip() == ("coko: configuration error: COKO_JWT_ACTIVE_KID: 'k2' names "
                                     "no configured key (configured: k1)")
