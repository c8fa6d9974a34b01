"""Coko settings: twelve-factor, from the environment, validated at start-up.

A bad value stops the process with one line naming the variable (see
``coko.platform.env``). Without ``DATABASE_URL`` / ``REDIS_URL`` the embedded
development servers under ``var/`` are used (``make run`` / ``make test`` start them).
"""

from __future__ import annotations

from pathlib import Path

from coko.platform.db.config import build_databases, parse_database_url
from coko.platform.env import Env

BASE_DIR = Path(__file__).resolve().parent.parent
env = Env()

# --- the domains --------------------------------------------------------------
COKO_DOMAINS = [
    "accounts",
    "catalog",
    "files",
    "reading",
    "payments",
    "recommendations",
    "gamification",
    "publishing",
    "community",
    "notifications",
    "analytics",
]
# Apps that are not domains live with a domain: Django's own apps and guardian
# keep their tables in the accounts schema (apps without tables are listed too,
# so the router never meets an unknown label).
COKO_APP_DOMAINS = {
    label: "accounts"
    for label in [
        "admin", "auth", "contenttypes", "sessions", "messages", "staticfiles",
        "guardian", "pgtrigger", "django_prometheus", "ninja", "platform",
        "csp", "corsheaders",  # web hardening (no tables)
    ]
}

# --- environment ----------------------------------------------------------------
COKO_ENV = env.choice("COKO_ENV", ["development", "test", "production", "build"], "development")
PRODUCTION = COKO_ENV == "production"
DEBUG = env.bool("DEBUG", default=COKO_ENV == "development")
SECRET_KEY = env.str("SECRET_KEY", required=PRODUCTION)
if not SECRET_KEY:
    # Development and tests only: production refuses to start without SECRET_KEY.
    SECRET_KEY = "coko-insecure-development-key-never-used-in-production"
elif PRODUCTION and len(SECRET_KEY) < 50:
    env.errors.append("SECRET_KEY: must be at least 50 characters in production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])
LOG_LEVEL = env.choice("LOG_LEVEL", ["DEBUG", "INFO", "WARNING", "ERROR"], "INFO")
SENTRY_DSN = env.str("SENTRY_DSN", pattern=r"https?://\S+")


def _embedded_database_url() -> str:
    return f"postgresql://postgres@/coko?host={BASE_DIR / 'var' / 'run'}"


def _embedded_redis_url(name: str = "redis") -> str:
    return f"unix://{BASE_DIR / 'var' / 'run' / (name + '.sock')}"


def _database_url(value: str) -> str:
    parse_database_url(value)
    return value


def _redis_url(value: str) -> str:
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError(f"{value!r} is not a redis://, rediss:// or unix:// URL")
    return value


DATABASE_URL = env.parsed("DATABASE_URL", _database_url, _embedded_database_url(),
                          required=PRODUCTION)
COKO_SPLIT_DATABASES = env.bool("COKO_SPLIT_DATABASES", False)
DATABASE_OVERRIDES = {
    domain: url
    for domain in COKO_DOMAINS
    if (url := env.parsed(f"DATABASE_URL_{domain.upper()}", _database_url, ""))
}
DATABASES = build_databases(
    domains=COKO_DOMAINS,
    default_url=DATABASE_URL,
    overrides=DATABASE_OVERRIDES,
    split=COKO_SPLIT_DATABASES,
    conn_max_age=env.int("DB_CONN_MAX_AGE", 60, minimum=0),
    default_domain="accounts",
)
DATABASE_ROUTERS = ["coko.platform.db.router.DomainRouter"]
MIGRATION_MODULES = {domain: f"migrations.{domain}" for domain in COKO_DOMAINS}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.parsed("REDIS_URL", _redis_url, _embedded_redis_url(), required=PRODUCTION)
# Tests give each parallel worker its own key space in the same Redis.
REDIS_NAMESPACE = env.str("COKO_REDIS_NAMESPACE", "coko", pattern=r"[a-z0-9_:-]+")
# Two Redis roles. REDIS_URL: the broker's queues, the token deny-list, rate limits and
# lockouts, which must never be evicted (`maxmemory-policy noeviction`, AOF). The cache
# (Django's CACHES: catalogue pages, OPDS feeds …) on a Redis of its own with a `maxmemory`
# and `allkeys-lru`, so whatever fills it only evicts cache entries. The embedded servers
# are two such processes; unset with REDIS_URL given, the cache shares REDIS_URL (fine for
# development and CI; in production a system check warns: coko.platform.cache).
COKO_CACHE_REDIS_URL = env.parsed(
    "COKO_CACHE_REDIS_URL", _redis_url,
    REDIS_URL if env.str("REDIS_URL") else _embedded_redis_url("redis-cache"))
CACHES = {
    "default": {
        "BACKEND": "coko.platform.cache.RedisCache",  # one client per pool (Django makes one per call)
        "LOCATION": COKO_CACHE_REDIS_URL,
        "KEY_PREFIX": REDIS_NAMESPACE,
        "TIMEOUT": 300,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

# --- catalog and search ----------------------------------------------------------------
COKO_CATALOG = {
    "CACHE_S": env.int("COKO_CATALOG_CACHE_S", 300, minimum=0, maximum=86400),  # hot reads in Redis
    # a rendered read bigger than this is served but not stored (catalog.cache)
    "CACHE_ENTRY_MAX_BYTES": env.int("COKO_CATALOG_CACHE_ENTRY_MAX_BYTES", 256 * 1024, minimum=1024),
    "USD_XOF": env.float("COKO_CATALOG_USD_XOF", 600.0, minimum=1.0),  # for price filters (EUR is pegged)
    "PAGE_MAX": 100,
    "SEARCH_PER_MIN": env.int("COKO_CATALOG_SEARCH_PER_MIN", 600, minimum=1),  # per client address
}
# Search backend: OpenSearch when set, else PostgreSQL full-text search (the embedded default).
OPENSEARCH_URL = env.str("OPENSEARCH_URL", pattern=r"https?://\S+") or ""
OPENSEARCH_INDEX = env.str("OPENSEARCH_INDEX", "coko-books", pattern=r"[a-z0-9_.-]+")

# --- events (outbox → relay → dramatiq → inbox) ------------------------------------
COKO_EVENTS = {
    "MAX_RETRIES": env.int("COKO_EVENT_MAX_RETRIES", 8, minimum=0, maximum=50),
    "MIN_BACKOFF_MS": env.int("COKO_EVENT_MIN_BACKOFF_MS", 1000, minimum=1),
    "MAX_BACKOFF_MS": env.int("COKO_EVENT_MAX_BACKOFF_MS", 15 * 60 * 1000, minimum=1),
    "ORDER_WAIT_MAX_S": env.int("COKO_EVENT_ORDER_WAIT_MAX_S", 600, minimum=1),
    "RELAY_BATCH": env.int("COKO_RELAY_BATCH", 500, minimum=1, maximum=10000),
    "RELAY_IDLE_S": env.float("COKO_RELAY_IDLE_S", 10.0, minimum=0.01),
    "RELAY_LINGER_MS": env.int("COKO_RELAY_LINGER_MS", 10, minimum=0, maximum=1000),
    "RETENTION_DAYS": env.int("COKO_EVENT_RETENTION_DAYS", 7, minimum=1),
    "EXTRA_HANDLER_MODULES": env.list("COKO_EXTRA_HANDLER_MODULES", []),
}
# --- processes that keep going (issue 10): outages retried often, ops ports on loopback ----
# A message that met a database or broker outage is retried by dramatiq with a back-off
# capped here (handler failures keep MIN/MAX_BACKOFF_MS): the outage's end is noticed soon.
COKO_EVENTS["OUTAGE_MAX_BACKOFF_MS"] = env.int("COKO_EVENT_OUTAGE_MAX_BACKOFF_MS", 10_000, minimum=1)
# The worker's and relay's /health, /ready, /metrics listen on this address: loopback by
# default (a laptop's `make run` exposes nothing); the manifests set 0.0.0.0 in the pod so
# the kubelet's probes and Prometheus reach them (the network policy guards the port).
COKO_OPS_BIND = env.str("COKO_OPS_BIND", "127.0.0.1", pattern=r"[0-9A-Fa-f.:]+")
# --- end of the processes block ------------------------------------------------------

DRAMATIQ_WORKER_THREADS = env.int("COKO_WORKER_THREADS", 8, minimum=1, maximum=64)
DRAMATIQ_PROMETHEUS_PORT = env.int("COKO_WORKER_METRICS_PORT", 9191, minimum=0, maximum=65535)
RELAY_HTTP_PORT = env.int("COKO_RELAY_HTTP_PORT", 9192, minimum=0, maximum=65535)

# --- tokens ------------------------------------------------------------------------------
# Access tokens (coko.platform.auth): asymmetric signing keys named by a kid, checked here.
from coko.platform.auth import keys as _token_keys  # noqa: E402

_errors_before_keys = len(env.errors)
_TOKEN_KEYS = (
    *env.parsed("COKO_JWT_PRIVATE_KEYS", _token_keys.parse_keys_json, ()),
    *env.parsed("COKO_JWT_KEYS_DIR", _token_keys.load_keys_dir, ()),
)
_token_keys_read = len(env.errors) == _errors_before_keys  # else: already reported
COKO_JWT = {
    "KEYS": _TOKEN_KEYS,  # Key objects; the private ones sign, all verify
    "ACTIVE_KID": env.str("COKO_JWT_ACTIVE_KID", pattern=_token_keys.KID_PATTERN),
    # a service that only verifies: the JWKS of the platform (…/.well-known/jwks.json)
    "PUBLIC_KEYS_URL": env.str("COKO_JWT_PUBLIC_KEYS_URL", pattern=r"https?://\S+"),
    "JWKS_MAX_AGE_S": 300,
    "JWKS_MIN_REFRESH_S": 30,
    # development and test without keys: one Ed25519 key generated once, reused
    "DEV_KEYS_DIR": BASE_DIR / "var" / "keys" if COKO_ENV in {"development", "test"} else None,
    "ISSUER": env.str("COKO_JWT_ISSUER", "coko"),
    "AUDIENCE": env.str("COKO_JWT_AUDIENCE", "coko-api"),
    "ACCESS_TOKEN_TTL_S": env.int("COKO_ACCESS_TOKEN_TTL_S", 600, minimum=30, maximum=86400),
    "LEEWAY_S": env.int("COKO_JWT_LEEWAY_S", 10, minimum=0, maximum=300),
    "VERIFY_CACHE_SIZE": env.int("COKO_JWT_VERIFY_CACHE_SIZE", 4096, minimum=0, maximum=1_000_000),
}
# Production refuses to start without signing keys (or, verify-only, a JWKS URL).
if _token_keys_read and (_token_problem := _token_keys.configuration_problem(
        keys=_TOKEN_KEYS, active_kid=COKO_JWT["ACTIVE_KID"],
        public_keys_url=COKO_JWT["PUBLIC_KEYS_URL"], production=PRODUCTION)):
    env.errors.append(_token_problem)
# --- end tokens --------------------------------------------------------------------------

# --- Django --------------------------------------------------------------------------
INSTALLED_APPS = [
    "coko.platform",  # first: its `migrate` spans every domain alias
    "coko.platform.admin_site.CokoAdminConfig",  # django.contrib.admin, branded; events in one section
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "guardian",
    "pgtrigger",
    "django_prometheus",
    "ninja",
    "csp",  # Content-Security-Policy (web hardening block below)
    "corsheaders",  # CORS for browser clients (COKO_CORS_ORIGINS)
    *[f"coko.domains.{domain}" for domain in COKO_DOMAINS],
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "coko.platform.http.middleware.RequestIdMiddleware",
    # security headers on every response, the ops endpoints' too (HTTPS redirect: not for them)
    "django.middleware.security.SecurityMiddleware",
    "coko.platform.http.middleware.ContentSecurityPolicyMiddleware",
    # CORS preflights answered here, before anything that could answer first
    "corsheaders.middleware.CorsMiddleware",
    # /health, /ready, /metrics answered here: before any host check (probes use the pod IP)
    "coko.platform.http.middleware.OpsEndpointsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # the admin's static files, from the image
    # before the envelope, so errors are written in the request's language
    "django.middleware.locale.LocaleMiddleware",
    "coko.platform.http.compression.CompressionMiddleware",  # Brotli or gzip
    # ETag of the final (uncompressed) body; gzip then weakens it to W/"..."
    "django.middleware.http.ConditionalGetMiddleware",
    "coko.platform.http.middleware.ApiErrorEnvelopeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_USER_MODEL = "accounts.User"
ANONYMOUS_USER_NAME = None  # django-guardian: no "AnonymousUser" row in the users table
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",  # verifies older hashes, upgraded at login
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
     "OPTIONS": {"user_attributes": ("email", "display_name")}},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Rate limits (hits, window in seconds) and the login lockout of the accounts domain.
ACCOUNTS_RATE_LIMITS = {
    "login_ip": (30, 60), "register_ip": (10, 3600), "register_address": (3, 3600), "register_confirm": (10, 900),
    "refresh_ip": (60, 60), "social_ip": (30, 60),
    "reset_ip": (10, 3600), "reset_identifier": (3, 3600), "reset_confirm": (10, 900),
    "verify_user": (5, 3600), "verify_confirm": (10, 900), "password_change": (10, 900),
    "two_factor": (10, 900),  # per user: enrol, confirm, disable, new recovery codes
}
ACCOUNTS_LOGIN_LOCKOUT = {
    "THRESHOLD": env.int("COKO_LOGIN_LOCKOUT_THRESHOLD", 10, minimum=1),
    "WINDOW_S": env.int("COKO_LOGIN_LOCKOUT_WINDOW_S", 900, minimum=1),
}
# --- client identity behind the gateway (proxy) ---------------------------------------
# Rate limits, lockouts and the audit log key on the client's address: X-Forwarded-For is
# read only when the peer is in one of these CIDRs (coko.platform.http.client). Empty here:
# a process reached directly trusts nobody's header. The Kubernetes manifests set the ingress
# controller's pod range (infra/k8s/configmap.yaml).
from coko.platform.http.client import parse_cidrs as _parse_cidrs  # noqa: E402

COKO_TRUSTED_PROXIES = env.parsed("COKO_TRUSTED_PROXIES", _parse_cidrs, [])
# A device that logged in before (a signed ``coko_device`` cookie or ``X-Coko-Device`` header
# from the login response) is not held by the account lockout; it has its own, stricter budget.
ACCOUNTS_DEVICE_LOCKOUT = {
    "THRESHOLD": env.int("COKO_DEVICE_LOCKOUT_THRESHOLD", 5, minimum=1),
    "WINDOW_S": env.int("COKO_DEVICE_LOCKOUT_WINDOW_S", 900, minimum=1),
}
ACCOUNTS_DEVICE_MAX_AGE_S = env.int("COKO_DEVICE_MAX_AGE_S", 365 * 86400, minimum=60)
# --- end client identity ---------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
X_FRAME_OPTIONS = "DENY"
# HTTPS, cookies, CSP and CORS: the web hardening block below.

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "coko" / "platform" / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Production serves the hashed, compressed files collected into the image.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
                    if COKO_ENV in {"production", "build"}
                    else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = COKO_ENV not in {"production", "build"}

# --- field encryption ------------------------------------------------------------------
# Personal fields (phone numbers …) are encrypted at rest and found again by a keyed hash
# (coko.platform.crypto). COKO_FIELD_KEYS: Fernet keys, comma-separated, newest first; the
# first encrypts, all decrypt (rotate: prepend a new key, re-encrypt, drop the old one).
# COKO_HASH_KEY: a separate secret for keyed hashes, >= 32 bytes, hex or url-safe base64
# (`openssl rand -hex 32`); changing it orphans every stored hash. Both are required in
# production. DEVELOPMENT AND TESTS ONLY: when unset they are derived from SECRET_KEY with
# HKDF, so `make run` needs no configuration (and data written stays readable while
# SECRET_KEY does not change). Values are never echoed in error messages.
import base64 as _base64  # noqa: E402
import binascii as _binascii  # noqa: E402
import re as _re  # noqa: E402

from cryptography.fernet import Fernet as _Fernet  # noqa: E402
from cryptography.hazmat.primitives import hashes as _hashes  # noqa: E402
from cryptography.hazmat.primitives.kdf.hkdf import HKDF as _HKDF  # noqa: E402


def _fernet_keys(value: str) -> list[str]:
    keys = [key.strip() for key in value.split(",") if key.strip()]
    if not keys:
        raise ValueError("holds no key (comma-separated Fernet keys, newest first)")
    for number, key in enumerate(keys, start=1):
        try:
            _Fernet(key)
        except (ValueError, TypeError):
            raise ValueError(f"key {number} of {len(keys)} is not a Fernet key (32 url-safe "
                             f"base64-encoded bytes, as Fernet.generate_key() makes)") from None
    return keys


def _hash_key(value: str) -> bytes:
    text = value.strip()
    if _re.fullmatch(r"(?:[0-9a-fA-F]{2})+", text):
        key = bytes.fromhex(text)
    else:
        try:
            key = _base64.b64decode(text.translate(str.maketrans("-_", "+/")) + "=" * (-len(text) % 4),
                                    validate=True)
        except (_binascii.Error, ValueError):
            raise ValueError("is neither hex nor url-safe base64") from None
    if len(key) < 32:
        raise ValueError(f"decodes to {len(key)} bytes; at least 32 are required "
                         f"(`openssl rand -hex 32`)")
    return key


def _development_key(purpose: str) -> bytes:
    """Development and tests only: a stable 32-byte key derived from SECRET_KEY."""
    return _HKDF(algorithm=_hashes.SHA256(), length=32, salt=b"coko-development-only",
                 info=f"coko {purpose} v1".encode()).derive(SECRET_KEY.encode())


COKO_FIELD_KEYS = env.parsed("COKO_FIELD_KEYS", _fernet_keys, [], required=PRODUCTION)
if not COKO_FIELD_KEYS and not PRODUCTION:
    COKO_FIELD_KEYS = [_base64.urlsafe_b64encode(_development_key("field encryption")).decode()]
COKO_HASH_KEY = env.parsed("COKO_HASH_KEY", _hash_key, b"", required=PRODUCTION)
if not COKO_HASH_KEY and not PRODUCTION:
    COKO_HASH_KEY = _development_key("keyed hash")
elif COKO_HASH_KEY and any(COKO_HASH_KEY == _base64.urlsafe_b64decode(key) for key in COKO_FIELD_KEYS):
    env.errors.append("COKO_HASH_KEY: must be a separate secret, not one of COKO_FIELD_KEYS")

# --- social login ---
# Google: ID tokens must be for one of these OAuth client ids (web, Android, iOS),
# verified against Google's published keys (PEM certificates; the v3 JWK Set URL works too).
GOOGLE_CLIENT_IDS = env.list("GOOGLE_CLIENT_IDS", [])
GOOGLE_CERTS_URL = env.str("GOOGLE_CERTS_URL", "https://www.googleapis.com/oauth2/v1/certs",
                           pattern=r"https?://\S+")
# Facebook: user access tokens are checked with the Graph API's debug_token for this app.
FACEBOOK_GRAPH_URL = env.str("FACEBOOK_GRAPH_URL", "https://graph.facebook.com/v19.0",
                             pattern=r"https?://\S+")
FACEBOOK_APP_ID = env.str("FACEBOOK_APP_ID", "", pattern=r"[0-9]+")
FACEBOOK_APP_SECRET = env.str("FACEBOOK_APP_SECRET", "")
if bool(FACEBOOK_APP_ID) != bool(FACEBOOK_APP_SECRET):
    env.errors.append("FACEBOOK_APP_ID, FACEBOOK_APP_SECRET: set both or neither")
SOCIAL_LOGIN_TIMEOUT_S = env.float("SOCIAL_LOGIN_TIMEOUT_S", 5.0, minimum=0.1)
# --- end social login ---

# --- notifications ---
# Email: Django's SMTP backend by default (``make run`` and the tests point it at a local
# aiosmtpd server); any other backend (django-anymail for SendGrid …) by EMAIL_BACKEND.
SENDGRID_API_KEY = env.str("SENDGRID_API_KEY")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", "anymail.backends.sendgrid.EmailBackend" if SENDGRID_API_KEY
                        else "django.core.mail.backends.smtp.EmailBackend")
ANYMAIL = {
    "SENDGRID_API_KEY": SENDGRID_API_KEY or "",
    "SENDGRID_API_URL": env.str("SENDGRID_API_URL", "https://api.sendgrid.com/v3/"),
}
EMAIL_HOST = env.str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", 1025, minimum=1, maximum=65535)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env.float("EMAIL_TIMEOUT", 10.0, minimum=0.1)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "Coko <no-reply@coko.africa>")
# SMS and push providers (read by the adapters in coko/domains/notifications/channels);
# only what the environment sets is defined, the adapters default the rest.
for _name in ["ORANGE_SMS_BASE_URL", "ORANGE_SMS_CLIENT_ID", "ORANGE_SMS_CLIENT_SECRET",
              "ORANGE_SMS_SENDER", "ORANGE_SMS_SENDER_NAME", "TWILIO_BASE_URL", "TWILIO_ACCOUNT_SID",
              "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER", "TWILIO_MESSAGING_SERVICE_SID", "FCM_BASE_URL",
              "FCM_PROJECT_ID", "FCM_SERVICE_ACCOUNT_FILE", "WEBPUSH_VAPID_PRIVATE_KEY",
              "WEBPUSH_VAPID_SUBJECT"]:
    if env.str(_name):
        globals()[_name] = env.str(_name)
for _name in ["ORANGE_SMS_TIMEOUT", "TWILIO_TIMEOUT", "FCM_TIMEOUT", "WEBPUSH_TIMEOUT"]:
    if env.str(_name):
        globals()[_name] = env.float(_name, 10.0, minimum=0.1)
if env.str("WEBPUSH_TTL"):
    WEBPUSH_TTL = env.int("WEBPUSH_TTL", 86400, minimum=0)
COKO_NOTIFICATIONS = {
    # channel → adapter class (dotted path); an empty path means the channel is not configured
    "ADAPTERS": {
        "email": env.str("COKO_NOTIFY_EMAIL_ADAPTER",
                         "coko.domains.notifications.channels.email.EmailAdapter"),
        "inapp": env.str("COKO_NOTIFY_INAPP_ADAPTER",
                         "coko.domains.notifications.channels.inapp.InAppAdapter"),
        "sms": env.str("COKO_NOTIFY_SMS_ADAPTER", ""),
        "push": env.str("COKO_NOTIFY_PUSH_ADAPTER", ""),
        "webpush": env.str("COKO_NOTIFY_WEBPUSH_ADAPTER", ""),
    },
    "MAX_ATTEMPTS": {
        "default": env.int("COKO_NOTIFY_MAX_ATTEMPTS", 6, minimum=1, maximum=50),
        "inapp": 3,
    },
    "MIN_BACKOFF_MS": env.int("COKO_NOTIFY_MIN_BACKOFF_MS", 2000, minimum=1),
    "MAX_BACKOFF_MS": env.int("COKO_NOTIFY_MAX_BACKOFF_MS", 30 * 60 * 1000, minimum=1),
    "MESSAGE_ID_DOMAIN": env.str("COKO_NOTIFY_MESSAGE_ID_DOMAIN", "coko.africa"),
}
# --- end notifications ---

# --- outbound requests (SSRF) ---
# Every outbound HTTP client of providers and of hosts named from outside goes through
# coko/platform/outbound.py: the host is resolved once, refused unless every address is public,
# and the connection pinned to the checked address. Hosts listed here (``host``, ``host:port``,
# ``*.suffix``) may be private: the provider simulators of ``make run`` and the tests (loopback).
COKO_OUTBOUND_ALLOWED_HOSTS = env.list("COKO_OUTBOUND_ALLOWED_HOSTS", [])
# Web push endpoints a device may register: https URLs on these push services (the browsers'
# own); COKO_WEBPUSH_ALLOWED_HOSTS adds more (same patterns). An endpoint on a host of
# COKO_OUTBOUND_ALLOWED_HOSTS (a simulator) is accepted too, http or https.
COKO_WEBPUSH_DEFAULT_HOSTS = ["fcm.googleapis.com", "updates.push.services.mozilla.com",
                              "*.push.apple.com", "*.notify.windows.com"]
COKO_WEBPUSH_ALLOWED_HOSTS = COKO_WEBPUSH_DEFAULT_HOSTS + env.list("COKO_WEBPUSH_ALLOWED_HOSTS", [])
# --- end outbound requests ---

# --- observability ---------------------------------------------------------------------
PROMETHEUS_METRIC_NAMESPACE = ""
from coko.platform.observability import logging_config, sentry_init  # noqa: E402

LOGGING = logging_config(level=LOG_LEVEL, json=not env.bool("COKO_LOG_CONSOLE", False))
# Tracing (coko/platform/tracing.py, set up by each process at start): spans are exported
# over OTLP/HTTP when an endpoint is set (Jaeger: http://<jaeger>:4318); the OpenTelemetry
# SDK reads these and the other OTEL_* variables itself. Checked here so a typo stops the start.
for _name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
    env.str(_name, pattern=r"https?://\S+")

# --- files (uploads, object storage) ---
# Limits on uploads (bytes unless said otherwise), checked on the content, not the name.
_MiB = 1024 * 1024
COKO_FILES = {
    "MAX_BYTES": {
        "epub": env.int("COKO_FILES_MAX_EPUB_BYTES", 100 * _MiB, minimum=1),
        "pdf": env.int("COKO_FILES_MAX_PDF_BYTES", 200 * _MiB, minimum=1),
        "image": env.int("COKO_FILES_MAX_IMAGE_BYTES", 20 * _MiB, minimum=1),
        "audio": env.int("COKO_FILES_MAX_AUDIO_BYTES", 1024 * _MiB, minimum=1),
    },
    # EPUB zip guards: entries, total uncompressed size, compression ratio of a large entry
    "EPUB_MAX_ENTRIES": env.int("COKO_FILES_EPUB_MAX_ENTRIES", 10000, minimum=1),
    "EPUB_MAX_UNCOMPRESSED_BYTES": env.int("COKO_FILES_EPUB_MAX_UNCOMPRESSED_BYTES", 512 * _MiB, minimum=1),
    "EPUB_MAX_RATIO": env.int("COKO_FILES_EPUB_MAX_RATIO", 100, minimum=2),
    # images: more pixels than this is refused (decompression bomb)
    "IMAGE_MAX_PIXELS": env.int("COKO_FILES_IMAGE_MAX_PIXELS", 50_000_000, minimum=1),
    # uploads per user: (hits, window in seconds)
    "UPLOAD_RATE": (env.int("COKO_FILES_UPLOADS_PER_HOUR", 120, minimum=1), 3600),
    # signed download links (local token or S3 presigned URL) live this long
    "DOWNLOAD_TTL_S": env.int("COKO_FILES_DOWNLOAD_TTL_S", 300, minimum=10, maximum=7 * 86400),
    # prefix of the cover URLs handed to other domains ("" = paths on this host)
    "PUBLIC_BASE_URL": env.str("COKO_FILES_PUBLIC_BASE_URL", "", pattern=r"https?://\S+"),
    # imported books' covers, fetched into storage (files.covers): size, time, how many at start-up
    "COVER_FETCH_MAX_BYTES": env.int("COKO_FILES_COVER_FETCH_MAX_BYTES", 5 * _MiB, minimum=1024),
    "COVER_FETCH_TIMEOUT_S": env.float("COKO_FILES_COVER_FETCH_TIMEOUT_S", 10.0, minimum=0.1),
    "COVER_FETCHES_AT_START": env.int("COKO_FILES_COVER_FETCHES_AT_START", 100, minimum=0, maximum=100_000),
}
# Blobs: the local disk (development, tests) or an S3-compatible bucket (MinIO, AWS) when
# COKO_S3_BUCKET is set. Keys come from the environment (or the instance's IAM role when
# unset), never from the repository.
COKO_FILES_MEDIA_ROOT = env.str("COKO_FILES_MEDIA_ROOT", str(BASE_DIR / "var" / "media"))
COKO_S3_BUCKET = env.str("COKO_S3_BUCKET", "", pattern=r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
if COKO_S3_BUCKET:
    _s3_key, _s3_secret = env.str("COKO_S3_ACCESS_KEY_ID"), env.str("COKO_S3_SECRET_ACCESS_KEY")
    if bool(_s3_key) != bool(_s3_secret):
        env.errors.append("COKO_S3_ACCESS_KEY_ID, COKO_S3_SECRET_ACCESS_KEY: set both or neither")
    STORAGES["coko_files"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": COKO_S3_BUCKET,
            "endpoint_url": env.str("COKO_S3_ENDPOINT_URL", pattern=r"https?://\S+"),
            "region_name": env.str("COKO_S3_REGION"),
            "access_key": _s3_key,
            "secret_key": _s3_secret,
            "location": env.str("COKO_S3_PREFIX", "", pattern=r"[A-Za-z0-9._/-]*"),
            "addressing_style": env.str("COKO_S3_ADDRESSING_STYLE", pattern=r"auto|path|virtual"),
            "signature_version": "s3v4",
            "file_overwrite": True,  # keys are content addresses
            "default_acl": None,  # private bucket: downloads go through presigned URLs
            "querystring_auth": True,
            "querystring_expire": COKO_FILES["DOWNLOAD_TTL_S"],
        },
    }
else:
    STORAGES["coko_files"] = {
        "BACKEND": "coko.domains.files.storage.ObjectFileSystemStorage",
        "OPTIONS": {"location": COKO_FILES_MEDIA_ROOT},
    }
# --- end files ---

# --- payments ---
COKO_PAYMENTS = {
    # a pending order nobody paid is closed after this (a later payment is still honoured, flagged)
    "ORDER_TTL_S": env.int("COKO_PAYMENTS_ORDER_TTL_S", 30 * 60, minimum=60, maximum=7 * 86400),
    # a card subscription whose renewal failed stays readable this long
    "GRACE_S": env.int("COKO_PAYMENTS_GRACE_S", 3 * 86400, minimum=0, maximum=30 * 86400),
    # a prepaid pass (mobile money, code) reminds its reader this long before it ends
    "REMINDER_BEFORE_S": env.int("COKO_PAYMENTS_REMINDER_BEFORE_S", 86400, minimum=0),
    # where providers reach Coko (webhooks) and send payers back: this server's public address
    "PUBLIC_URL": env.str("COKO_PAYMENTS_PUBLIC_URL", "http://127.0.0.1:8000", pattern=r"https?://\S+").rstrip("/"),
    # a provider call that takes longer than this is given up (and made safe to retry)
    "TIMEOUT_S": env.float("COKO_PAYMENTS_TIMEOUT_S", 10.0, minimum=0.1),
    # how old a signed webhook may be (Wave, Stripe): older is a replay
    "WEBHOOK_TOLERANCE_S": env.int("COKO_PAYMENTS_WEBHOOK_TOLERANCE_S", 300, minimum=1, maximum=3600),
}
# Reading (positions, KOReader sync): see README, "Reading".
COKO_READING = {
    # accepted positions kept per book, so a mistaken sync can be undone
    "HISTORY": env.int("COKO_READING_HISTORY", 20, minimum=1, maximum=500),
    # reading.progressed: at most one per this much of the book, or per this many seconds of reading
    "PROGRESSED_STEP": env.float("COKO_READING_PROGRESSED_STEP", 0.05, minimum=0.0),
    "PROGRESSED_EVERY_S": env.int("COKO_READING_PROGRESSED_EVERY_S", 600, minimum=0),
    # a book read this far is completed (reading.completed)
    "COMPLETED_AT": env.float("COKO_READING_COMPLETED_AT", 0.98, minimum=0.5),
    # how far ahead of the server's clock a client's time may be
    "CLOCK_SKEW_S": env.int("COKO_READING_CLOCK_SKEW_S", 120, minimum=0, maximum=3600),
    # KOReader's POST /kosync/users/create registers a Coko reader (else 402, code 2005)
    "KOSYNC_REGISTRATION": env.bool("COKO_READING_KOSYNC_REGISTRATION", True),
}
COKO_COMMUNITY = {
    # reviews a reader may post per window: (hits, window in seconds)
    "REVIEW_RATE": (env.int("COKO_COMMUNITY_REVIEWS_PER_HOUR", 30, minimum=1), 3600),
    # the longest review text, in characters
    "REVIEW_MAX_CHARS": env.int("COKO_COMMUNITY_REVIEW_MAX_CHARS", 10_000, minimum=100),
    # forum posts (and new topics) a reader may write per window: (hits, window in seconds)
    "POST_RATE": (env.int("COKO_COMMUNITY_POSTS_PER_10_MINUTES", 20, minimum=1), 600),
    # the longest post, in characters of Markdown
    "POST_MAX_CHARS": env.int("COKO_COMMUNITY_POST_MAX_CHARS", 20_000, minimum=100),
}
# The providers (a provider is on when its key is set; `make run` points them at local simulators).
WAVE_API_BASE = env.str("WAVE_API_BASE", "https://api.wave.com", pattern=r"https?://\S+")
WAVE_API_KEY = env.str("WAVE_API_KEY")
WAVE_WEBHOOK_SECRET = env.str("WAVE_WEBHOOK_SECRET")
ORANGE_MONEY_API_BASE = env.str("ORANGE_MONEY_API_BASE", "https://api.orange.com", pattern=r"https?://\S+")
ORANGE_MONEY_CLIENT_ID = env.str("ORANGE_MONEY_CLIENT_ID")
ORANGE_MONEY_CLIENT_SECRET = env.str("ORANGE_MONEY_CLIENT_SECRET")
ORANGE_MONEY_MERCHANT_KEY = env.str("ORANGE_MONEY_MERCHANT_KEY")
# the country path of the Web Payment API: "dev" is the sandbox (currency OUV), "sn", "ci", "cm" …
ORANGE_MONEY_COUNTRY = env.str("ORANGE_MONEY_COUNTRY", "sn", pattern=r"[a-z]{2,3}")
STRIPE_API_BASE = env.str("STRIPE_API_BASE", "https://api.stripe.com", pattern=r"https?://\S+")
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET")
# --- end payments ---

# --- bounds on untrusted input (issue 10) ---
# EPUB: each XML file parsed (container, OPF, nav, NCX) is refused past this size before it is
# read, and past this many elements while it is parsed; ingestion reads only those files and the
# cover, at most EPUB_READ_MAX_BYTES in all. Images: refused when decoding (after JPEG's reduced
# decode to thumbnail size) would need more than IMAGE_MAX_DECODE_BYTES of pixels.
COKO_FILES.update({
    "EPUB_MAX_XML_BYTES": env.int("COKO_FILES_EPUB_MAX_XML_BYTES", 4 * _MiB, minimum=1024),
    "EPUB_MAX_XML_ELEMENTS": env.int("COKO_FILES_EPUB_MAX_XML_ELEMENTS", 100_000, minimum=100),
    "EPUB_READ_MAX_BYTES": env.int("COKO_FILES_EPUB_READ_MAX_BYTES", 40 * _MiB, minimum=_MiB),
    "IMAGE_MAX_DECODE_BYTES": env.int("COKO_FILES_IMAGE_MAX_DECODE_BYTES", 80 * _MiB, minimum=_MiB),
})
# Request bodies (Django's own limits; over them is a 413 in the envelope): a non-file body
# (JSON, form fields), the number of form fields and of files in one multipart body.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("COKO_MAX_BODY_BYTES", 2_621_440, minimum=1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = env.int("COKO_MAX_BODY_FIELDS", 1000, minimum=10)
DATA_UPLOAD_MAX_NUMBER_FILES = env.int("COKO_MAX_BODY_FILES", 20, minimum=1)
# --- end bounds on untrusted input ---

# --- benchmarks ---
# make bench-catalog serves a bare Django view (/bench/bare, defined in config/urls.py) next
# to the API, as its baseline. Off everywhere else.
COKO_BENCH_VIEWS = env.bool("COKO_BENCH_VIEWS", False)
# --- end benchmarks ---

# --- web hardening: security headers, HTTPS, CSP, CORS ----------------------------------
# Every response carries X-Content-Type-Options, Referrer-Policy, Cross-Origin-Opener-Policy
# and a Content-Security-Policy (SecurityMiddleware and django-csp, above the ops endpoints).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# COKO_SECURE_HTTPS=1 (production behind TLS): redirect plain HTTP to HTTPS and send HSTS.
# Where the ingress terminates TLS it redirects and may send HSTS itself; this makes the app
# refuse plain HTTP too. The ops endpoints are exempt (probes speak plain HTTP to the pod).
COKO_SECURE_HTTPS = env.bool("COKO_SECURE_HTTPS", False)
SECURE_SSL_REDIRECT = COKO_SECURE_HTTPS
SECURE_REDIRECT_EXEMPT = [r"^(health|ready|metrics)$"]
SECURE_HSTS_SECONDS = env.int("COKO_HSTS_SECONDS", 31_536_000, minimum=0) if COKO_SECURE_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("COKO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env.bool("COKO_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PRODUCTION or COKO_SECURE_HTTPS
# X-Forwarded-Proto is believed only when COKO_TRUST_X_FORWARDED_PROTO=1: set it only when
# every request reaches the app through a proxy that overwrites that header (the shipped
# ingress). Otherwise any client could claim HTTPS and skip the redirect.
if env.bool("COKO_TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content-Security-Policy: only this origin's scripts, styles, images, fonts and fetches; no
# plugins, no framing, no <base>, forms post here. The API docs (Swagger UI, served from
# ninja's bundled static files, no CDN) set inline styles and data: icons: their pages get
# those two additions only (COKO_CSP_RELAXED_PATHS, ContentSecurityPolicyMiddleware).
_csp_self = ["'self'"]
if STATIC_URL.startswith(("http://", "https://", "//")):  # static files from a CDN
    from urllib.parse import urlsplit as _urlsplit  # noqa: E402

    _static = _urlsplit(STATIC_URL if not STATIC_URL.startswith("//") else "https:" + STATIC_URL)
    _csp_self.append(f"{_static.scheme}://{_static.netloc}")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": _csp_self,
        "style-src": _csp_self,
        "img-src": _csp_self,
        "font-src": _csp_self,
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "upgrade-insecure-requests": COKO_SECURE_HTTPS,
    },
}
if _csp_report_uri := env.str("COKO_CSP_REPORT_URI", pattern=r"https?://\S+|/\S*"):  # violations
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["report-uri"] = [_csp_report_uri]
COKO_CSP_RELAXED_PATHS = frozenset({"/api/v1/docs"})  # exact paths

# CORS for browser clients (django-cors-headers): COKO_CORS_ORIGINS, comma-separated exact
# origins (https://app.example.org). Unset: no cross-origin browser access. The API uses
# bearer tokens, never cookies, so credentials are not allowed.
def _origins(value: str) -> list[str]:
    origins = [origin.strip().rstrip("/") for origin in value.split(",") if origin.strip()]
    for origin in origins:
        if not _re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", origin):
            raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], no path)")
    return origins


CORS_ALLOWED_ORIGINS = env.parsed("COKO_CORS_ORIGINS", _origins, [])
CORS_URLS_REGEX = r"^/(api/|opds/|\.well-known/jwks\.json$)"
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = ("accept", "accept-language", "authorization", "content-type",
                      "if-none-match", "x-request-id", "x-coko-device")
CORS_EXPOSE_HEADERS = ("content-language", "etag", "retry-after", "x-request-id",
                       "x-coko-device")  # the known-device token a password login hands out
CORS_PREFLIGHT_MAX_AGE = 3600
# --- end web hardening ---

env.check()  # stop here, with one line per bad variable, before anything connects

if SENTRY_DSN:
    sentry_init(dsn=SENTRY_DSN, environment=COKO_ENV)
