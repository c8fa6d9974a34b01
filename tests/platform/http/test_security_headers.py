"""Security headers, HTTPS and CORS at the HTTP edge (issue 10, web hardening).

Each test names the attack it stops. The production wiring (environment → settings) is
checked in child processes, the way an operator starts the platform.
"""

from __future__ import annotations

import json
import re
import secrets
from html.parser import HTMLParser

import pytest
from cryptography.fernet import Fernet

from coko.devtools.testing.manage import manage

PAGES = ["/admin/login/", "/api/v1/docs", "/", "/api/v1/meta", "/api/v1/nowhere", "/health"]


def policy(response) -> dict[str, list[str]]:
    """The Content-Security-Policy header as ``{directive: [sources]}``."""
    header = response["Content-Security-Policy"]
    directives = {}
    for part in filter(None, (p.strip() for p in header.split(";"))):
        name, *sources = part.split()
        directives[name] = sources
    return directives


class _Assets(HTMLParser):
    """The scripts (src or inline), stylesheets and inline style elements of a page."""

    def __init__(self):
        super().__init__()
        self.scripts, self.inline_scripts, self.stylesheets, self.style_elements = [], [], [], 0
        self._in_script = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script":
            if attrs.get("src"):
                self.scripts.append(attrs["src"])
            elif attrs.get("type") not in ("application/json",):
                self._in_script = ""
        elif tag == "link" and attrs.get("rel") == "stylesheet":
            self.stylesheets.append(attrs["href"])
        elif tag == "style":
            self.style_elements += 1

    def handle_data(self, data):
        if self._in_script is not None:
            self._in_script += data

    def handle_endtag(self, tag):
        if tag == "script" and self._in_script is not None:
            if self._in_script.strip():
                self.inline_scripts.append(self._in_script)
            self._in_script = None


def assets(response) -> _Assets:
    parser = _Assets()
    parser.feed(response.content.decode())
    return parser


# --- headers on every response -------------------------------------------------------------
@pytest.mark.parametrize("path", PAGES)
@pytest.mark.django_db(databases="__all__")
def test_every_response_carries_the_security_headers(client, path):
    """MIME sniffing (a JSON body run as a script), referrer leaks of URLs with tokens, and
    framing/injection: every response says nosniff, a Referrer-Policy and a CSP."""
    response = client.get(path)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    directives = policy(response)
    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]  # no inline or eval'd script, anywhere
    assert directives["object-src"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]  # clickjacking
    assert "'unsafe-inline'" not in directives["script-src"]


@pytest.mark.django_db(databases="__all__")
def test_the_admin_gets_the_strict_policy_and_needs_nothing_more(client):
    """An injected inline script or style in the admin does not run: the admin's policy is
    'self' only, and the admin login page itself loads nothing the policy would refuse."""
    response = client.get("/admin/login/")
    assert response.status_code == 200
    directives = policy(response)
    assert directives["style-src"] == ["'self'"] and directives["img-src"] == ["'self'"]
    page = assets(response)
    assert page.inline_scripts == [] and page.style_elements == 0
    for url in page.scripts + page.stylesheets:
        assert url.startswith("/"), url  # same origin
        assert client.get(url).status_code == 200, url


@pytest.mark.django_db(databases="__all__")
def test_the_api_docs_load_swagger_ui_from_this_origin_under_the_policy(client):
    """The docs page works under the CSP: Swagger UI is served from this origin (no CDN a
    compromise could turn against readers), with no inline script; only inline styles and
    data: icons (what Swagger UI needs) are added for the docs, scripts stay 'self'."""
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    directives = policy(response)
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'", "'unsafe-inline'"]
    assert directives["img-src"] == ["'self'", "data:"]
    assert directives["connect-src"] == ["'self'"]  # the UI fetches /api/v1/openapi.json
    page = assets(response)
    assert page.inline_scripts == []
    assert any("swagger-ui-bundle" in url for url in page.scripts)
    for url in page.scripts + page.stylesheets:
        assert url.startswith("/") and not url.startswith("//"), url
        assert client.get(url).status_code == 200, url
    settings_block = re.search(r'<script type="application/json" id="swagger-settings">(.*?)</script>',
                               response.content.decode(), re.S)
    swagger = json.loads(settings_block.group(1))
    assert swagger["url"] == "/api/v1/openapi.json"
    assert swagger["validatorUrl"] is None  # no badge image from validator.swagger.io


@pytest.mark.django_db(databases="__all__")
def test_the_docs_relaxation_stays_on_the_docs(client):
    """Inline styles are allowed on the docs only: the admin and the API keep 'self'."""
    for path in ("/admin/login/", "/api/v1/meta", "/api/v1/docsx"):
        assert "'unsafe-inline'" not in policy(client.get(path))["style-src"], path


# --- HTTPS -----------------------------------------------------------------------------------
@pytest.fixture
def secure_https(settings):
    """The settings COKO_SECURE_HTTPS=1 produces (checked in a child process below)."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31_536_000
    return settings


@pytest.mark.django_db(databases="__all__")
def test_secure_https_redirects_plain_http_and_sends_hsts(client, secure_https):
    """SSL stripping: plain HTTP is sent to HTTPS, and HTTPS answers pin HTTPS for a year."""
    response = client.get("/api/v1/meta")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/api/v1/meta"
    secure = client.get("/api/v1/meta", secure=True)
    assert secure.status_code == 200
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@pytest.mark.django_db(databases="__all__")
def test_a_client_cannot_claim_https_unless_the_proxy_is_trusted(client, secure_https):
    """A client sending X-Forwarded-Proto: https over plain HTTP does not skip the redirect
    (SECURE_PROXY_SSL_HEADER is unset unless COKO_TRUST_X_FORWARDED_PROTO=1)."""
    response = client.get("/api/v1/meta", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301
    secure_https.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")  # behind the ingress
    assert client.get("/api/v1/meta", HTTP_X_FORWARDED_PROTO="https").status_code == 200


@pytest.mark.parametrize("path", ["/health", "/ready", "/metrics"])
@pytest.mark.django_db(databases="__all__")
def test_probes_are_not_redirected_to_https(client, secure_https, path):
    """Kubelet probes speak plain HTTP to the pod: they are answered, not redirected."""
    response = client.get(path, HTTP_HOST="10.42.0.17:8000")
    assert response.status_code == 200
    assert response["X-Content-Type-Options"] == "nosniff"


# --- CORS --------------------------------------------------------------------------------------
APP = "https://app.example.org"
EVIL = "https://evil.example.net"


@pytest.fixture
def cors(settings):
    settings.CORS_ALLOWED_ORIGINS = [APP]
    return settings


def preflight(client, origin: str, path: str = "/api/v1/me", method: str = "PATCH"):
    return client.options(path, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
                          HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type")


@pytest.mark.django_db(databases="__all__")
def test_a_preflight_from_an_allowed_origin_is_answered(client, cors):
    response = preflight(client, APP)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == APP
    assert "PATCH" in response["Access-Control-Allow-Methods"]
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed
    assert "Access-Control-Allow-Credentials" not in response  # bearer tokens, no cookies
    answer = client.get("/api/v1/meta", HTTP_ORIGIN=APP)
    assert answer["Access-Control-Allow-Origin"] == APP
    assert "x-request-id" in answer["Access-Control-Expose-Headers"]


@pytest.mark.django_db(databases="__all__")
def test_a_preflight_from_another_origin_is_refused(client, cors):
    """A page on another site cannot read the API's answers with a reader's browser."""
    response = preflight(client, EVIL)
    assert "Access-Control-Allow-Origin" not in response
    answer = client.get("/api/v1/meta", HTTP_ORIGIN=EVIL)
    assert "Access-Control-Allow-Origin" not in answer


@pytest.mark.django_db(databases="__all__")
def test_cors_stays_off_the_admin(client, cors):
    """The admin (session cookies) never answers cross-origin reads, even from an allowed origin."""
    assert "Access-Control-Allow-Origin" not in client.get("/admin/login/", HTTP_ORIGIN=APP)


# --- production settings, in a child process ----------------------------------------------------
def production_env(**extra: str) -> dict[str, str]:
    return {
        "COKO_ENV": "production", "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "coko.example.org",
        "CSRF_TRUSTED_ORIGINS": "https://coko.example.org",
        "DATABASE_URL": "postgresql://coko@db.invalid/coko", "REDIS_URL": "redis://broker.invalid:6379/0",
        "COKO_CACHE_REDIS_URL": "redis://cache.invalid:6379/0",  # the cache's own server (coko.W201)
        "COKO_JWT_PUBLIC_KEYS_URL": "https://coko.example.org/.well-known/jwks.json",
        "COKO_FIELD_KEYS": Fernet.generate_key().decode(), "COKO_HASH_KEY": secrets.token_hex(32),
        "COKO_SECURE_HTTPS": "1", "COKO_TRUST_X_FORWARDED_PROTO": "1",
        **extra,
    }


def test_check_deploy_is_clean_with_the_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production_env())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


SHOW = ("from django.conf import settings as s; import json; print(json.dumps({k: getattr(s, k, None) for k in"
        " ['SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS', 'SECURE_PROXY_SSL_HEADER', 'CORS_ALLOWED_ORIGINS',"
        " 'SESSION_COOKIE_SECURE']}))")


def shown(**env: str) -> dict:
    result = manage("shell", "-c", SHOW, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_environment_switches_https_and_cors_on():
    on = shown(**production_env(COKO_CORS_ORIGINS="https://app.example.org, http://localhost:3000"))
    assert on["SECURE_SSL_REDIRECT"] is True and on["SECURE_HSTS_SECONDS"] == 31_536_000
    assert on["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert on["CORS_ALLOWED_ORIGINS"] == ["https://app.example.org", "http://localhost:3000"]
    off = shown(COKO_ENV="development", COKO_SECURE_HTTPS="0", COKO_TRUST_X_FORWARDED_PROTO="0",
                COKO_CORS_ORIGINS="")
    assert off == {"SECURE_SSL_REDIRECT": False, "SECURE_HSTS_SECONDS": 0, "SECURE_PROXY_SSL_HEADER": None,
                   "CORS_ALLOWED_ORIGINS": [], "SESSION_COOKIE_SECURE": False}


def test_a_cors_origin_with_a_path_or_a_wildcard_stops_the_start():
    result = manage("check", COKO_CORS_ORIGINS="https://app.example.org/app, *")
    assert result.returncode == 78
    assert "COKO_CORS_ORIGINS: " in result.stderr and "is not an origin" in result.stderr
