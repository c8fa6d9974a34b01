"""Access tokens: issued by accounts, verified by anyone, without a database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import jwt
import pytest

from coko.platform import clock as platform_clock
from coko.platform.auth.errors import InvalidToken, TokenExpired
from coko.platform.auth.keys import KeyConfigurationError, KeySet, key_pem
from coko.platform.auth.tokens import (
    Principal,
    TokenVerifier,
    access_token_issue,
    access_token_verify,
)

from .conftest import b64, claims, no_database_queries, sign


def issue(**overrides):
    values = {"subject": "user-1", "roles": ["premium", "user"],
              "permissions": ["read_books", "write_reviews", "download_books"],
              "session_id": "session-1"}
    values.update(overrides)
    return access_token_issue(**values)


def refusal(token, verifier=None):
    with pytest.raises(InvalidToken) as caught:
        access_token_verify(token, verifier=verifier)
    error = caught.value
    assert error.status == 401
    assert error.headers == {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    return error


# --- the round trip -----------------------------------------------------------------------------
def test_an_issued_token_verifies_to_its_principal(settings):
    token = issue()
    principal = access_token_verify(token)
    assert isinstance(principal, Principal)
    assert principal.user_id == "user-1"
    assert principal.session_id == "session-1"
    assert principal.roles == frozenset({"premium", "user"})
    assert principal.permissions == frozenset({"read_books", "write_reviews", "download_books"})
    ttl = settings.COKO_JWT["ACCESS_TOKEN_TTL_S"]
    assert ttl == 600
    assert abs(principal.expires_at.timestamp() - (time.time() + ttl)) < 5
    with pytest.raises(AttributeError):
        principal.user_id = "someone-else"  # frozen


def test_the_token_carries_the_brief_claims_and_the_key_id(key_a):
    token = issue(subject="u-42", session_id="s-42", ttl=timedelta(minutes=2))
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "kid": "key-a", "typ": "at+jwt"}
    payload = jwt.decode(token, options={"verify_signature": False})
    assert set(payload) == {"sub", "iat", "exp", "nbf", "jti", "roles", "permissions", "sid",
                            "iss", "aud", "typ"}
    assert (payload["sub"], payload["sid"], payload["typ"]) == ("u-42", "s-42", "access")
    assert (payload["iss"], payload["aud"]) == ("coko", "coko-api")
    assert payload["exp"] - payload["iat"] == 120 and payload["nbf"] == payload["iat"]
    assert access_token_verify(token).jti == payload["jti"]
    assert payload["jti"] != jwt.decode(issue(), options={"verify_signature": False})["jti"]


def test_rs256_keys_work_too(token_keys, rsa_key):
    token_keys(rsa_key)
    token = issue()
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert access_token_verify(token).user_id == "user-1"


def test_roles_given_as_one_string_are_a_programming_error():
    with pytest.raises(TypeError):
        issue(roles="admin")


def test_verification_sends_no_database_query():
    token = issue()
    with no_database_queries():
        access_token_verify(token)  # signature checked
        access_token_verify(token)  # from the verified-signature cache


@pytest.mark.django_db(databases="__all__")
def test_verification_sends_no_database_query_even_with_every_database_open():
    token = issue()
    with no_database_queries():
        for _ in range(3):
            access_token_verify(token)


# --- time -------------------------------------------------------------------------------------
def test_an_expired_token_is_refused_as_token_expired():
    token = issue(now=time.time() - 3600, ttl=600)
    error = refusal(token)
    assert isinstance(error, TokenExpired) and error.code == "token_expired"


def test_a_little_clock_skew_is_tolerated(settings):
    assert settings.COKO_JWT["LEEWAY_S"] == 10
    access_token_verify(issue(now=time.time() - 605, ttl=600))  # expired 5 s ago
    access_token_verify(issue(now=time.time() + 5))  # issued 5 s in the future
    assert refusal(issue(now=time.time() - 615, ttl=600)).code == "token_expired"


def test_a_token_not_yet_valid_is_refused():
    error = refusal(issue(now=time.time() + 3600))
    assert (error.code, error.details) == ("invalid_token", {"reason": "not_yet_valid"})


def test_a_cached_token_still_expires(clock):
    token = issue(ttl=60)
    access_token_verify(token)  # verified, and remembered
    clock.advance(120)
    assert refusal(token).code == "token_expired"


# --- who made it, for whom ----------------------------------------------------------------------
@pytest.mark.parametrize("claim, value, reason", [
    ("aud", "another-api", "wrong_audience"),
    ("iss", "https://evil.example", "wrong_issuer"),
    ("typ", "refresh", "wrong_type"),
    ("sid", None, "bad_claims"),
    ("jti", None, "bad_claims"),
    ("exp", None, "bad_claims"),
    ("roles", "admin", "bad_claims"),
    ("permissions", [1, 2], "bad_claims"),
])
def test_claims_that_are_not_ours_are_refused(key_a, claim, value, reason):
    error = refusal(sign(claims(**{claim: value}), key_a))
    assert (error.code, error.details) == ("invalid_token", {"reason": reason})


def test_a_verifier_for_another_audience_refuses_our_tokens(key_a):
    verifier = TokenVerifier(keys=KeySet([key_a]), audience="payments-service")
    assert refusal(issue(), verifier).details == {"reason": "wrong_audience"}


# --- signatures and algorithms ------------------------------------------------------------------
def test_a_tampered_signature_is_refused():
    head, payload, signature = issue().split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    assert refusal(f"{head}.{payload}.{flipped}").details == {"reason": "bad_signature"}


def test_a_tampered_payload_is_refused():
    head, payload, signature = issue(roles=["user"]).split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=="))
    data["roles"], data["permissions"] = ["admin"], ["*"]
    assert refusal(f"{head}.{b64(data)}.{signature}").details == {"reason": "bad_signature"}


def test_a_token_signed_by_a_key_we_do_not_know_is_refused(key_b):
    error = refusal(sign(claims(), key_b))  # kid "key-b" is not configured
    assert error.details == {"reason": "unknown_key"}
    forged = sign(claims(), key_b, kid="key-a")  # right kid, wrong key
    assert refusal(forged).details == {"reason": "bad_signature"}


def test_a_token_without_kid_is_refused(key_a):
    token = jwt.encode(claims(), key_a.private_key, algorithm="EdDSA")
    assert refusal(token).details == {"reason": "unknown_key"}


def test_alg_none_is_refused():
    for alg in ("none", "None", "NONE"):
        token = f"{b64({'alg': alg, 'kid': 'key-a', 'typ': 'JWT'})}.{b64(claims(roles=['admin']))}."
        assert refusal(token).details == {"reason": "bad_algorithm"}
    # even if a library mistook an empty signature for a valid one
    token = f"{b64({'alg': 'EdDSA', 'kid': 'key-a'})}.{b64(claims())}."
    assert refusal(token).code == "invalid_token"


def test_hs256_signed_with_the_public_key_is_refused(key_a):
    """The classic key-confusion attack: HMAC keyed with the (public) verification key."""
    public_pem = key_pem(type(key_a)(key_a.kid, key_a.alg, key_a.public_key)).encode()
    raw_public = key_a.public_key.public_bytes_raw()
    for secret in (public_pem, raw_public):
        signing_input = f"{b64({'alg': 'HS256', 'kid': 'key-a', 'typ': 'JWT'})}.{b64(claims())}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{b64(mac)}"
        assert refusal(token).details == {"reason": "bad_algorithm"}


def test_a_token_claiming_another_asymmetric_algorithm_than_its_key_is_refused(key_a, rsa_key,
                                                                             token_keys):
    token_keys(key_a, rsa_key, active="key-a")
    token = sign(claims(), rsa_key, kid="key-a")  # RS256 under the Ed25519 key's kid
    assert refusal(token).details == {"reason": "bad_algorithm"}


@pytest.mark.parametrize("garbage", ["", "abc", "a.b", "a.b.c", "....", "x" * 9000,
                                     f"{b64([1, 2])}.{b64({})}.sig"])
def test_garbage_is_refused_as_malformed(garbage):
    assert refusal(garbage).code == "invalid_token"


# --- rotation -----------------------------------------------------------------------------------
def test_after_a_rotation_old_tokens_verify_until_they_expire_and_new_ones_carry_the_new_kid(
        token_keys, key_a, key_b):
    old = issue()
    old_expiring = issue(ttl=60)

    token_keys(key_a, key_b, active="key-b")  # key-b signs now; key-a verifies only
    assert access_token_verify(old).user_id == "user-1"
    new = issue()
    assert jwt.get_unverified_header(new)["kid"] == "key-b"
    assert access_token_verify(new).user_id == "user-1"

    frozen = platform_clock.FrozenClock()  # the old short-lived token expires as usual
    frozen.advance(120)
    previous = platform_clock.freeze(frozen)
    try:
        assert refusal(old_expiring).code == "token_expired"
    finally:
        platform_clock.freeze(previous)

    token_keys(key_b, active="key-b")  # the old key is withdrawn: its tokens stop working
    assert refusal(old).details == {"reason": "unknown_key"}
    assert access_token_verify(new).user_id == "user-1"


def test_withdrawing_a_key_is_not_hidden_by_the_verified_signature_cache(key_a, key_b):
    keys = KeySet([key_a, key_b], "key-a")
    verifier = TokenVerifier(keys=keys)
    token = issue(keys=keys)
    verifier.verify(token)
    verifier._keys = KeySet([key_b])
    assert refusal(token, verifier).details == {"reason": "unknown_key"}


def test_a_process_that_only_verifies_cannot_issue(key_a, token_keys):
    public_only = type(key_a)(key_a.kid, key_a.alg, key_a.public_key)
    token = issue()
    token_keys(public_only)
    assert access_token_verify(token).user_id == "user-1"
    with pytest.raises(KeyConfigurationError):
        issue()
