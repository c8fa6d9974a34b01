"""Social login verifiers against real HTTP servers on loopback.

A thread in the test process plays Google's certificate endpoint (PEM certificates
and the JWK Set form, each test runs with both) or the Graph API's ``debug_token``
and ``/me``; tokens are signed by RSA keys made here. No database is used.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from coko.domains.accounts import social
from coko.domains.accounts.social import (
    SocialIdentity,
    SocialProviderNotConfigured,
    SocialProviderUnavailable,
    SocialTokenInvalid,
    facebook_identity_verify,
    google_identity_verify,
)
from coko.platform.errors import error_for_exception

pytestmark = pytest.mark.usefixtures("outbound_loopback")  # the simulators listen on loopback


# --- a real HTTP server in a thread ----------------------------------------------------------
class FakeServer:
    """``ThreadingHTTPServer`` on 127.0.0.1, port 0. ``routes[path](query) -> (status, headers, body)``."""

    def __init__(self) -> None:
        self.routes: dict = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
                outer.requests.append((url.path, query))
                route = outer.routes.get(url.path)
                status, headers, body = route(query) if route else (404, {}, {"error": "no route"})
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def hits(self, path: str) -> list[dict[str, str]]:
        return [query for seen, query in self.requests if seen == path]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def closed_port_url() -> str:
    """A loopback URL nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def slow(seconds: float, answer):
    def route(query):
        time.sleep(seconds)
        return answer
    return route


@pytest.fixture(autouse=True)
def fresh_certs_cache():
    social._google_certs.clear()
    yield
    social._google_certs.clear()


# --- Google ---------------------------------------------------------------------------------
WEB, ANDROID, IOS = (f"{kind}-1234.apps.googleusercontent.com" for kind in ("web", "android", "ios"))
KID = "google-test-key-1"


@pytest.fixture(scope="module")
def keys():
    """Google's signing key, and an attacker's."""
    return {name: rsa.generate_private_key(public_exponent=65537, key_size=2048)
            for name in ("google", "attacker")}


def pem_certificate(key) -> str:
    """A self-signed X.509 certificate, as Google serves at /oauth2/v1/certs."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "coko test google")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder()
                   .subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .sign(key, hashes.SHA256()))
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def jwk(key, kid: str) -> dict:
    """The public key as a JWK, as Google serves at /oauth2/v3/certs."""
    public = jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


class FakeGoogle:
    def __init__(self, server: FakeServer, key, form: str) -> None:
        self.server, self.key, self.form = server, key, form
        self.path = "/oauth2/v1/certs" if form == "pem" else "/oauth2/v3/certs"
        body = ({KID: pem_certificate(key)} if form == "pem"
                else {"keys": [jwk(key, KID)]})
        self.serve(200, body, cache_control="public, max-age=19302, must-revalidate, no-transform")

    def serve(self, status: int, body, *, cache_control: str | None = None) -> None:
        headers = {"Cache-Control": cache_control} if cache_control else {}
        self.server.routes[self.path] = lambda query: (status, headers, body)

    @property
    def certs_url(self) -> str:
        return self.server.url + self.path

    def token(self, *, key=None, kid: str | None = KID, **claims) -> str:
        now = int(time.time())
        payload = {
            "iss": "https://accounts.google.com", "azp": ANDROID, "aud": WEB,
            "sub": "110169484474386276334", "email": "ada@example.com", "email_verified": True,
            "name": "Ada Lovelace", "iat": now, "exp": now + 3600,
        }
        payload.update(claims)
        payload = {name: value for name, value in payload.items() if value is not None}
        headers = {"kid": kid} if kid else {}
        return jwt.encode(payload, key or self.key, algorithm="RS256", headers=headers)


@pytest.fixture(params=["pem", "jwks"])
def google(request, keys, settings):
    server = FakeServer()
    fake = FakeGoogle(server, keys["google"], request.param)
    settings.GOOGLE_CERTS_URL = fake.certs_url
    settings.GOOGLE_CLIENT_IDS = [WEB, ANDROID, IOS]
    settings.SOCIAL_LOGIN_TIMEOUT_S = 2.0
    yield fake
    server.close()


def refused(token: str) -> SocialTokenInvalid:
    with pytest.raises(SocialTokenInvalid) as caught:
        google_identity_verify(id_token=token)
    return caught.value


def test_google_valid_token_gives_the_identity(google):
    identity = google_identity_verify(id_token=google.token())
    assert identity == SocialIdentity(provider="google", subject="110169484474386276334",
                                      email="ada@example.com", email_verified=True,
                                      name="Ada Lovelace")


@pytest.mark.parametrize("audience", [WEB, ANDROID, IOS])
def test_google_any_configured_client_is_an_accepted_audience(google, audience):
    assert google_identity_verify(id_token=google.token(aud=audience)).subject


def test_google_issuer_without_scheme_is_accepted(google):
    assert google_identity_verify(id_token=google.token(iss="accounts.google.com")).subject


def test_google_unverified_or_missing_email(google):
    unverified = google_identity_verify(id_token=google.token(email_verified="false"))
    assert (unverified.email, unverified.email_verified) == ("ada@example.com", False)
    legacy = google_identity_verify(id_token=google.token(email_verified="true"))
    assert legacy.email_verified is True
    bare = google_identity_verify(id_token=google.token(email=None, email_verified=None, name=None))
    assert (bare.email, bare.email_verified, bare.name) == (None, False, None)


def test_google_expired_token_is_refused(google):
    now = int(time.time())
    assert refused(google.token(iat=now - 7200, exp=now - 3600)).reason == "expired"


def test_google_wrong_audience_is_refused(google):
    assert refused(google.token(aud="someone-else.apps.googleusercontent.com")).reason == "wrong_audience"


def test_google_wrong_issuer_is_refused(google):
    assert refused(google.token(iss="https://accounts.example.com")).reason == "wrong_issuer"


def test_google_token_signed_by_another_key_is_refused(google, keys):
    assert refused(google.token(key=keys["attacker"])).reason == "bad_signature"


def test_google_unknown_kid_is_refused(google, keys):
    assert refused(google.token(key=keys["attacker"], kid="attacker-key")).reason == "unknown_key"


def test_google_token_without_expiry_is_refused(google):
    assert refused(google.token(exp=None)).reason == "malformed"


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "eyJhbGciOiJSUzI1NiJ9.e30.", "x" * 9000])
def test_google_malformed_token_is_refused(google, token):
    refused(token)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.mark.parametrize("alg", ["none", "HS256"])
def test_google_algorithm_confusion_is_refused(google, keys, alg):
    """An unsigned token, or one "signed" with HMAC keyed by the public key, never passes."""
    now = int(time.time())
    header = _b64(json.dumps({"alg": alg, "kid": KID, "typ": "JWT"}).encode())
    payload = _b64(json.dumps({"iss": "https://accounts.google.com", "aud": WEB, "sub": "1",
                               "iat": now, "exp": now + 3600}).encode())
    public_pem = keys["google"].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signature = (b"" if alg == "none"
                 else hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    refused(f"{header}.{payload}.{_b64(signature)}")


def test_google_certificates_are_cached_for_their_max_age(google):
    for _ in range(3):
        google_identity_verify(id_token=google.token())
    assert len(google.server.hits(google.path)) == 1


def test_google_certificates_without_max_age_are_fetched_again(google):
    body = {KID: pem_certificate(google.key)} if google.form == "pem" else {"keys": [jwk(google.key, KID)]}
    google.serve(200, body, cache_control="no-cache")
    google_identity_verify(id_token=google.token())
    google_identity_verify(id_token=google.token())
    assert len(google.server.hits(google.path)) == 2


def test_google_not_configured(google, settings):
    settings.GOOGLE_CLIENT_IDS = []
    with pytest.raises(SocialProviderNotConfigured):
        google_identity_verify(id_token=google.token())


@pytest.mark.parametrize("status, body", [(500, {"error": "backend"}), (200, b"<html>maintenance</html>")])
def test_google_certificate_endpoint_failing_is_unavailable(google, status, body):
    google.serve(status, body)
    with pytest.raises(SocialProviderUnavailable):
        google_identity_verify(id_token=google.token())


def test_google_certificate_endpoint_down_is_unavailable(google, settings):
    settings.GOOGLE_CERTS_URL = closed_port_url() + "/oauth2/v1/certs"
    with pytest.raises(SocialProviderUnavailable):
        google_identity_verify(id_token=google.token())


def test_google_certificate_endpoint_too_slow_is_unavailable(google, settings):
    settings.SOCIAL_LOGIN_TIMEOUT_S = 0.2
    google.server.routes[google.path] = slow(1.0, (200, {}, {}))
    started = time.monotonic()
    with pytest.raises(SocialProviderUnavailable):
        google_identity_verify(id_token=google.token())
    assert time.monotonic() - started < 1.0


# --- Facebook -------------------------------------------------------------------------------
APP_ID, APP_SECRET = "424242424242", "fb-app-secret-0d9f3b7e"
OTHER_APP = "777777777777"


class FakeGraph:
    """The Graph API's debug_token and /me, as documented, for a handful of tokens."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.tokens: dict[str, dict] = {}
        self.me_error: tuple[int, int] | None = None
        self.me_id_override: str | None = None
        server.routes["/v19.0/debug_token"] = self.debug_token
        server.routes["/v19.0/me"] = self.me

    def issue(self, token: str, *, user_id: str = "10150000000000001", app_id: str = APP_ID,
              expires_in: int | None = 3600, kind: str = "USER", email: str | None = "ada@example.com",
              name: str = "Ada Lovelace") -> str:
        expires_at = 0 if expires_in is None else int(time.time()) + expires_in
        self.tokens[token] = {"user_id": user_id, "app_id": app_id, "expires_at": expires_at,
                              "type": kind, "email": email, "name": name}
        return token

    @staticmethod
    def _error(status: int, code: int, message: str, **extra):
        return status, {}, {"error": {"message": message, "type": "OAuthException", "code": code,
                                      "fbtrace_id": "AbCdEf", **extra}}

    def _live(self, token: str) -> dict | None:
        grant = self.tokens.get(token)
        if grant and (grant["expires_at"] == 0 or grant["expires_at"] > time.time()):
            return grant
        return None

    def debug_token(self, query):
        if query.get("access_token") != f"{APP_ID}|{APP_SECRET}":
            return self._error(400, 190, "Invalid OAuth access token signature.")
        grant = self.tokens.get(query.get("input_token", ""))
        if grant is None:
            return 200, {}, {"data": {"error": {"code": 190, "message": "Invalid OAuth access token."},
                                      "is_valid": False, "scopes": []}}
        data = {"app_id": grant["app_id"], "type": grant["type"], "application": "Coko",
                "data_access_expires_at": int(time.time()) + 90 * 86400,
                "expires_at": grant["expires_at"], "is_valid": True,
                "issued_at": int(time.time()) - 60, "scopes": ["email", "public_profile"],
                "user_id": grant["user_id"]}
        if self._live(query["input_token"]) is None:
            data["is_valid"] = False
            data["error"] = {"code": 190, "subcode": 463,
                             "message": "Error validating access token: Session has expired."}
        return 200, {}, {"data": data}

    def me(self, query):
        token = query.get("access_token", "")
        grant = self._live(token)
        if grant is None:
            return self._error(400, 190, "Invalid OAuth access token.")
        expected = hmac.new(APP_SECRET.encode(), token.encode(), hashlib.sha256).hexdigest()
        if query.get("appsecret_proof") != expected:
            return self._error(400, 100, "Invalid appsecret_proof provided in the API argument",
                               type="GraphMethodException")
        if self.me_error:
            return self._error(*self.me_error, "Facebook says no")
        profile = {"id": self.me_id_override or grant["user_id"]}
        for field in query.get("fields", "").split(","):
            if field in {"name", "email"} and grant[field] is not None:
                profile[field] = grant[field]
        return 200, {}, profile


@pytest.fixture
def graph(settings):
    server = FakeServer()
    settings.FACEBOOK_GRAPH_URL = server.url + "/v19.0"
    settings.FACEBOOK_APP_ID = APP_ID
    settings.FACEBOOK_APP_SECRET = APP_SECRET
    settings.SOCIAL_LOGIN_TIMEOUT_S = 2.0
    yield FakeGraph(server)
    server.close()


def fb_refused(token: str) -> SocialTokenInvalid:
    with pytest.raises(SocialTokenInvalid) as caught:
        facebook_identity_verify(access_token=token)
    return caught.value


def test_facebook_valid_token_gives_the_identity_with_email(graph):
    token = graph.issue("EAAGood")
    identity = facebook_identity_verify(access_token=token)
    assert identity == SocialIdentity(provider="facebook", subject="10150000000000001",
                                      email="ada@example.com", email_verified=False,
                                      name="Ada Lovelace")
    [debug] = graph.server.hits("/v19.0/debug_token")
    assert debug == {"input_token": token, "access_token": f"{APP_ID}|{APP_SECRET}"}
    [me] = graph.server.hits("/v19.0/me")
    assert me["fields"] == "id,name,email"
    assert me["appsecret_proof"] == hmac.new(APP_SECRET.encode(), token.encode(),
                                             hashlib.sha256).hexdigest()


def test_facebook_profile_without_email(graph):
    identity = facebook_identity_verify(access_token=graph.issue("EAANoMail", email=None))
    assert (identity.email, identity.name) == (None, "Ada Lovelace")


def test_facebook_token_that_never_expires_is_accepted(graph):
    assert facebook_identity_verify(access_token=graph.issue("EAAForever", expires_in=None)).subject


def test_facebook_invalid_token_is_refused(graph):
    assert fb_refused("EAAUnknown").reason == "not_valid"
    assert not graph.server.hits("/v19.0/me")


def test_facebook_token_for_another_app_is_refused(graph):
    assert fb_refused(graph.issue("EAAOther", app_id=OTHER_APP)).reason == "other_app"
    assert not graph.server.hits("/v19.0/me")


def test_facebook_expired_token_is_refused(graph):
    assert fb_refused(graph.issue("EAAOld", expires_in=-60)).reason == "expired"


def test_facebook_expiry_is_checked_on_our_clock_too(graph):
    """Even if Facebook still says is_valid, a past expires_at is refused."""
    graph.issue("EAAStale", expires_in=-60)
    graph._live = lambda token: graph.tokens.get(token)  # Facebook's clock lags behind
    assert fb_refused("EAAStale").reason == "expired"


def test_facebook_page_token_is_refused(graph):
    assert fb_refused(graph.issue("EAAPage", kind="PAGE")).reason == "not_user_token"


def test_facebook_profile_of_another_user_is_refused(graph):
    graph.me_id_override = "999"
    assert fb_refused(graph.issue("EAASwap")).reason == "subject_mismatch"


@pytest.mark.parametrize("code, error", [(190, SocialTokenInvalid), (4, SocialProviderUnavailable)])
def test_facebook_profile_refusal(graph, code, error):
    graph.me_error = (400, code)
    with pytest.raises(error):
        facebook_identity_verify(access_token=graph.issue("EAAMeFails"))


def test_facebook_wrong_app_secret_is_unavailable_not_a_user_error(graph, settings):
    settings.FACEBOOK_APP_SECRET = "not-the-secret"
    with pytest.raises(SocialProviderUnavailable):
        facebook_identity_verify(access_token=graph.issue("EAAGood"))


def test_facebook_graph_down_is_unavailable(graph, settings):
    settings.FACEBOOK_GRAPH_URL = closed_port_url() + "/v19.0"
    with pytest.raises(SocialProviderUnavailable):
        facebook_identity_verify(access_token="EAAGood")


@pytest.mark.parametrize("answer", [
    (500, {}, {"error": {"code": 2, "message": "Service temporarily unavailable"}}),
    (502, {}, b"<html>Bad gateway</html>"),
])
def test_facebook_graph_failing_is_unavailable(graph, answer):
    graph.server.routes["/v19.0/debug_token"] = lambda query: answer
    with pytest.raises(SocialProviderUnavailable):
        facebook_identity_verify(access_token=graph.issue("EAAGood"))


def test_facebook_graph_too_slow_is_unavailable(graph, settings):
    settings.SOCIAL_LOGIN_TIMEOUT_S = 0.2
    graph.server.routes["/v19.0/debug_token"] = slow(1.0, (200, {}, {"data": {}}))
    started = time.monotonic()
    with pytest.raises(SocialProviderUnavailable):
        facebook_identity_verify(access_token=graph.issue("EAAGood"))
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("token", ["", "EAA\nInjected", "x" * 9000])
def test_facebook_malformed_token_is_refused_without_asking(graph, token):
    assert fb_refused(token).reason == "malformed"
    assert not graph.server.requests


@pytest.mark.parametrize("app_id, secret", [("", APP_SECRET), (APP_ID, "")])
def test_facebook_not_configured(graph, settings, app_id, secret):
    settings.FACEBOOK_APP_ID, settings.FACEBOOK_APP_SECRET = app_id, secret
    with pytest.raises(SocialProviderNotConfigured):
        facebook_identity_verify(access_token="EAAGood")


def test_facebook_secret_and_token_never_reach_the_logs(graph, caplog):
    token = graph.issue("EAASecretToken42")
    with caplog.at_level(logging.DEBUG):
        facebook_identity_verify(access_token=token)
        graph.issue("EAASecretToken42", app_id=OTHER_APP)
        fb_refused(token)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "debug_token" in text and "[redacted]" in text  # httpx did log the requests
    assert APP_SECRET not in text and token not in text


# --- the API envelope -------------------------------------------------------------------------
def test_errors_map_to_the_envelope_statuses():
    from coko.domains.accounts import errors

    refused = errors.SOCIAL_TOKEN_INVALID(provider="google", reason="expired")
    assert isinstance(refused, SocialTokenInvalid) and (refused.provider, refused.reason) == ("google", "expired")
    invalid = error_for_exception(refused)
    assert (invalid.status, invalid.code, invalid.details) == (
        401, "social_token_invalid", {"provider": "google", "reason": "expired"})
    assert invalid.headers == {"WWW-Authenticate": 'Bearer error="social_token_invalid"'}
    unavailable = error_for_exception(errors.SOCIAL_PROVIDER_UNAVAILABLE(provider="facebook"))
    assert (unavailable.status, unavailable.code, unavailable.headers) == (503, "social_provider_unavailable", {})
    assert isinstance(errors.SOCIAL_PROVIDER_UNAVAILABLE(provider="facebook"), SocialProviderUnavailable)
    not_configured = errors.SOCIAL_PROVIDER_NOT_CONFIGURED(provider="google")
    assert isinstance(not_configured, SocialProviderNotConfigured)
    assert error_for_exception(not_configured).status == 404


# --- outbound requests (issue 10, SSRF) -------------------------------------------------------
def test_a_provider_url_on_an_internal_address_gets_no_request(google, graph, settings):
    """The provider URLs reach the network through coko.platform.outbound: pointed (by a
    mistaken or hostile configuration) at a loopback or private service, they get no request
    and the client a 503 ``social_provider_unavailable``, with no address in the answer."""
    settings.COKO_OUTBOUND_ALLOWED_HOSTS = []  # production: no host may be private
    with pytest.raises(SocialProviderUnavailable) as caught:
        google_identity_verify(id_token=google.token())
    assert "127.0.0.1" not in str(error_for_exception(caught.value))
    with pytest.raises(SocialProviderUnavailable):
        facebook_identity_verify(access_token=graph.issue("EAAGood"))
    assert google.server.requests == [] and graph.server.requests == []
