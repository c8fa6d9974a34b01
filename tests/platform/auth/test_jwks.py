"""The public keys at /.well-known/jwks.json, and services that verify with them alone."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from django.urls import reverse

from coko.platform.auth.errors import InvalidToken
from coko.platform.auth.jwks import jwks_document
from coko.platform.auth.keys import KeyConfigurationError, KeySet, RemoteKeySet
from coko.platform.auth.tokens import TokenVerifier, access_token_issue, access_token_verify

from .conftest import claims, sign


def issue(**extra):
    return access_token_issue(subject="user-7", roles=["author"],
                              permissions=["publish_books"], session_id="s-7", **extra)


def test_the_document_lists_every_public_key_active_first(token_keys, key_a, key_b, rsa_key):
    token_keys(key_a, key_b, rsa_key, active="key-b")
    document = jwks_document()
    assert [(k["kid"], k["alg"], k["use"], k["kty"]) for k in document["keys"]] == [
        ("key-b", "EdDSA", "sig", "OKP"), ("key-a", "EdDSA", "sig", "OKP"),
        ("key-rsa", "RS256", "sig", "RSA")]
    assert all("d" not in key and "p" not in key for key in document["keys"])  # public only


def test_the_endpoint_serves_it_cacheably(client, token_keys, key_a, key_b):
    token_keys(key_a, key_b, active="key-a")
    assert reverse("jwks") == "/.well-known/jwks.json"
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "public, max-age=300"
    assert response.has_header("ETag")
    assert {key["kid"] for key in response.json()["keys"]} == {"key-a", "key-b"}
    assert client.post("/.well-known/jwks.json").status_code == 405


def test_a_verifier_built_only_from_the_jwks_document_verifies_tokens(client, token_keys,
                                                                     key_a, key_b):
    """What an extracted service does: no private key, no database, only the document."""
    token_keys(key_a, key_b, active="key-a")
    before_rotation = issue()
    token_keys(key_a, key_b, active="key-b")
    after_rotation = issue()

    document = json.loads(client.get("/.well-known/jwks.json").content)
    verifier = TokenVerifier(keys=KeySet.from_jwks(document))
    assert verifier.verify(before_rotation).user_id == "user-7"
    principal = verifier.verify(after_rotation)
    assert principal.permissions == frozenset({"publish_books"})
    with pytest.raises(KeyConfigurationError):
        issue(keys=verifier.keys)  # it cannot mint tokens


def test_a_jwks_document_cannot_smuggle_in_a_symmetric_key_or_another_algorithm(key_a):
    document = {"keys": [
        {"kty": "oct", "kid": "hmac", "k": "c3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3M", "alg": "HS256"},
        {**key_a.jwk(), "kid": "mislabelled", "alg": "RS256"},
        {**key_a.jwk(), "kid": "encryption", "use": "enc"},
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        key_a.jwk(),
    ]}
    assert [key.kid for key in KeySet.from_jwks(document).keys()] == ["key-a"]
    token = jwt.encode(claims(), "s" * 32, algorithm="HS256", headers={"kid": "hmac"})
    with pytest.raises(InvalidToken):
        TokenVerifier(keys=KeySet.from_jwks(document)).verify(token)


# --- verifying against a JWKS URL (COKO_JWT_PUBLIC_KEYS_URL) --------------------------------------
class JwksServer:
    """A loopback HTTP server serving ``document`` and counting the fetches."""

    def __init__(self) -> None:
        self.document = {"keys": []}
        self.fetches = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                outer.fetches += 1
                body = json.dumps(outer.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def jwks_server():
    server = JwksServer()
    yield server
    server.close()


def test_a_service_that_only_verifies_fetches_the_keys_from_the_url(jwks_server, token_keys,
                                                                   key_a):
    token, other = issue(), issue()  # minted by "accounts" with key-a
    jwks_server.document = KeySet([key_a]).jwks()
    token_keys(url=jwks_server.url)  # this process: no key of its own

    assert access_token_verify(token).user_id == "user-7"
    assert access_token_verify(other).user_id == "user-7"
    assert jwks_server.fetches == 1  # then kept
    with pytest.raises(KeyConfigurationError):
        issue()


def test_an_unknown_kid_makes_the_verifier_fetch_again_at_most_once_per_interval(
        jwks_server, key_a, key_b, clock):
    jwks_server.document = KeySet([key_a]).jwks()
    keys = RemoteKeySet(jwks_server.url, min_refresh_interval=30, max_age=300)
    verifier = TokenVerifier(keys=keys)
    verifier.verify(sign(claims(), key_a))
    assert jwks_server.fetches == 1

    clock.advance(31)
    jwks_server.document = KeySet([key_a, key_b], "key-b").jwks()  # accounts rotated
    assert verifier.verify(sign(claims(jti="new"), key_b)).jti == "new"
    assert jwks_server.fetches == 2

    for n in range(5):  # made-up kids do not turn into a flood of fetches
        with pytest.raises(InvalidToken):
            verifier.verify(sign(claims(), key_b, kid=f"made-up-{n}"))
    assert jwks_server.fetches == 2
    clock.advance(301)  # the document is fetched again when it gets old
    verifier.verify(sign(claims(), key_a))
    assert jwks_server.fetches == 3


def test_an_unreachable_jwks_url_keeps_the_known_keys(jwks_server, key_a):
    jwks_server.document = KeySet([key_a]).jwks()
    keys = RemoteKeySet(jwks_server.url, min_refresh_interval=0, max_age=0)
    verifier = TokenVerifier(keys=keys, cache_size=0)
    token = sign(claims(), key_a)
    verifier.verify(token)
    jwks_server.close()
    assert verifier.verify(token).user_id == "user-1"  # the fetch failed; key-a still known
