"""Settings for Storefront Billing: one module, driven by environment variables.

Every value comes from the environment through the small typed helpers below, which raise
ImproperlyConfigured on a malformed value instead of guessing. Defaults let a fresh clone run
on SQLite with DEBUG on; production (DJANGO_DEBUG off) must set DJANGO_SECRET_KEY and gets the
secure cookie, HSTS and proxy-SSL settings.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def envstr(name: str, default: str = "") -> str:
    """A string setting; `NAME_FILE` (a path) wins over `NAME`, for secrets mounted as files."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path!r} cannot be read: {exc}") from exc
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name}={raw!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off"
    )


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def envurl(name: str, default: str = "") -> str:
    """An optional http(s) URL, without a trailing slash."""
    raw = envstr(name, default).strip()
    if not raw:
        return ""
    parts = urlsplit(raw)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an http(s) URL")
    return raw.rstrip("/")


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in envstr(name, default).split(",") if item.strip()]


# Core
DEBUG = envbool("DJANGO_DEBUG", True)
SECRET_KEY = envstr("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "insecure-development-key-never-use-in-production"
ALLOWED_HOSTS = envlist("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("DJANGO_CSRF_TRUSTED_ORIGINS")
# The public origin of this site (scheme://host[:port]), used where we build absolute URLs
# outside a request (onboarding links handed out by the API, emails).
SITE_URL = envurl("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "ninja",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "csp",
    "storefront",
    "billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "storefront.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "storefront.middleware.ApiErrorEnvelopeMiddleware",
    # NUL characters and lone surrogates answered 400, API bodies limited to JSON objects.
    "storefront.request_guards.RequestGuardMiddleware",
    # Login throttling; axes asks to be last.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "storefront.urls"
WSGI_APPLICATION = "storefront.wsgi.application"
ASGI_APPLICATION = "storefront.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "storefront.context_processors.acting_customer",
            ],
        },
    },
]

# Database: SQLite file by default, DATABASE_URL (e.g. postgres://...) otherwise.
DATABASE_URL = envstr("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is malformed: {exc}") from exc
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web workers and the task worker write concurrently: take the write lock at the start of
    # each transaction (no lock-upgrade deadlocks), wait for it instead of failing, and let
    # readers run alongside the writer (WAL).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Auth: users log in with their email address.
AUTH_USER_MODEL = "storefront.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTHENTICATION_BACKENDS = [
    # Refuses a login that is locked out before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes, storefront/throttling.py): LOGIN_FAILURE_LIMIT wrong passwords
# for one email from one client address lock that login for LOGIN_LOCKOUT_MINUTES; a successful
# login resets the count. Behind a proxy every client shares its address, so the lock is then
# per email. Attempts are kept in the database (shared by every process and host).
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=envint("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Both login forms post the email as `username` (axes would look for USERNAME_FIELD, `email`).
AXES_USERNAME_FORM_FIELD = "username"
AXES_USERNAME_CALLABLE = "storefront.throttling.login_username"
AXES_LOCKOUT_CALLABLE = "storefront.throttling.locked_out"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Internationalisation
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files, served by whitenoise
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Redis (optional): with REDIS_URL set, the cache (the API's rate limit), sessions and, with
# TASKS_BACKEND=rq, the task queue live there, shared by every web host and worker.
REDIS_URL = envstr("REDIS_URL").strip()
if REDIS_URL and urlsplit(REDIS_URL).scheme not in {"redis", "rediss", "unix"}:
    raise ImproperlyConfigured(
        f"REDIS_URL={REDIS_URL!r} is not a redis://, rediss:// or unix:// URL"
    )

# Background work (django-tasks). TASKS_BACKEND=db (the default, what `make demo` runs): the
# database is the queue and `manage.py db_worker` runs it. TASKS_BACKEND=rq: RQ on Redis
# (REDIS_URL), run by `manage.py rqworker --with-scheduler` on any number of machines.
TASKS_BACKEND = envstr("TASKS_BACKEND", "db").strip().lower()
TASKS: dict[str, dict[str, Any]]
if TASKS_BACKEND == "db":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
elif TASKS_BACKEND == "rq":
    if not REDIS_URL:
        raise ImproperlyConfigured(
            "TASKS_BACKEND=rq needs REDIS_URL (e.g. redis://127.0.0.1:6379/0)"
        )
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    # A sync or a billing run may page through Stripe for a long time: an hour before RQ
    # stops a job.
    RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600}}
else:
    raise ImproperlyConfigured(f"TASKS_BACKEND={TASKS_BACKEND!r}: use db or rq")

# Inventory-source checks call the URL an owner typed (storefront.agents). In production an
# agent must be on a public address; development runs agents on localhost.
AGENT_CHECK_ALLOW_PRIVATE_ADDRESSES = envbool("AGENT_CHECK_ALLOW_PRIVATE_ADDRESSES", DEBUG)

# Stripe. With STRIPE_API_BASE set, the SDK talks to that server (the emulator in development);
# unset, it talks to api.stripe.com.
STRIPE_SECRET_KEY = envstr("STRIPE_SECRET_KEY", "sk_test_emulator" if DEBUG else "")
STRIPE_PUBLISHABLE_KEY = envstr("STRIPE_PUBLISHABLE_KEY", "pk_test_emulator" if DEBUG else "")
STRIPE_WEBHOOK_SECRET = envstr("STRIPE_WEBHOOK_SECRET", "whsec_emulator" if DEBUG else "")
# Stripe sends platform events (application_fee.*) only to a platform endpoint, which has its
# own signing secret; point it at the same URL and set its secret here.
STRIPE_PLATFORM_WEBHOOK_SECRET = envstr("STRIPE_PLATFORM_WEBHOOK_SECRET", "")
STRIPE_API_BASE = envurl("STRIPE_API_BASE", "http://127.0.0.1:12111" if DEBUG else "")
STRIPE_CONNECT_JS_URL = envurl(
    "STRIPE_CONNECT_JS_URL",
    f"{STRIPE_API_BASE}/connect-js/v1.0/connect.js"
    if STRIPE_API_BASE
    else "https://connect-js.stripe.com/v1.0/connect.js",
)
# Seconds to wait for Stripe to accept a connection and to answer; the SDK retries twice.
STRIPE_CONNECT_TIMEOUT = envint("STRIPE_CONNECT_TIMEOUT", 5, minimum=1)
STRIPE_READ_TIMEOUT = envint("STRIPE_READ_TIMEOUT", 30, minimum=1)
if not DEBUG and not STRIPE_SECRET_KEY:
    raise ImproperlyConfigured("STRIPE_SECRET_KEY must be set when DJANGO_DEBUG is off")
for _name, _value, _prefixes in (
    ("STRIPE_SECRET_KEY", STRIPE_SECRET_KEY, ("sk_", "rk_")),
    ("STRIPE_PUBLISHABLE_KEY", STRIPE_PUBLISHABLE_KEY, ("pk_",)),
    ("STRIPE_WEBHOOK_SECRET", STRIPE_WEBHOOK_SECRET, ("whsec_",)),
    ("STRIPE_PLATFORM_WEBHOOK_SECRET", STRIPE_PLATFORM_WEBHOOK_SECRET, ("whsec_",)),
):
    if _value and not _value.startswith(_prefixes):
        raise ImproperlyConfigured(f"{_name} must start with {' or '.join(_prefixes)}")

# Content-Security-Policy (django-csp): scripts and styles from this site only, no inline code
# or event handlers (an inline script needs `nonce="{{ request.csp_nonce }}"`), no plugins, no
# framing. What connect.js needs (its script, frames and calls to Stripe or the emulator) is
# added per response from the Stripe settings by storefront.csp.ContentSecurityPolicyMiddleware.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        # The hash is templates/500.html's own <style> (rendered without a request, so no nonce).
        "style-src": [SELF, NONCE, "'sha256-M+MFUmmlmEHeB7+SmUqN8s24a12SrTK/XVshX5wz2EU='"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# Email
# Email (sellers' notices, billing/notifications.py): printed to the console unless
# EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and the SMTP settings are given.
EMAIL_BACKEND = envstr("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = envstr("DEFAULT_FROM_EMAIL", "billing@storefront.test")
EMAIL_HOST = envstr("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = envstr("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = envstr("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10, minimum=1)

# Security: production mode (DEBUG off) assumes HTTPS behind a proxy that sets X-Forwarded-Proto.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    # Off only for a local demo over plain HTTP (scripts/demo).
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = envbool("DJANGO_SECURE_COOKIES", True)
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    # /healthz is probed over plain HTTP by load balancers.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_HTTPONLY = True
SECURE_REFERRER_POLICY = "same-origin"

# Cache: the API's per-key rate limit counts here, and the header's customer lists are kept
# here. With REDIS_URL it is Redis, shared by every web host; without, files shared by the
# processes of one host. DJANGO_CACHE_BACKEND/DJANGO_CACHE_LOCATION override both.
_REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"
_FILE_CACHE = "django.core.cache.backends.filebased.FileBasedCache"
CACHES = {
    "default": {
        "BACKEND": envstr("DJANGO_CACHE_BACKEND", _REDIS_CACHE if REDIS_URL else _FILE_CACHE),
        "LOCATION": envstr(
            "DJANGO_CACHE_LOCATION", REDIS_URL if REDIS_URL else str(BASE_DIR / ".cache")
        ),
        "KEY_PREFIX": "storefront",
    }
}
# Sessions live in the database (every host shares it); with a shared Redis cache they are
# also cached there, so a page view reads no session row.
if CACHES["default"]["BACKEND"] == _REDIS_CACHE:
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# API
API_RATE_LIMIT_PER_MINUTE = envint("API_RATE_LIMIT_PER_MINUTE", 100, minimum=1)
# Larger API request bodies are answered 413; no endpoint needs anywhere near this much.
API_MAX_BODY_BYTES = envint("API_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO").upper()},
    # The SDK logs every request at INFO; keep that for STRIPE_LOG=info debugging only.
    "loggers": {"stripe": {"level": envstr("STRIPE_LOG_LEVEL", "WARNING").upper()}},
}
