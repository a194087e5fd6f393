"""The env-driven settings module fails loudly on malformed values and hardens production."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

SETTINGS = str(Path(__file__).resolve().parent.parent / "storefront" / "settings.py")
ENV_NAMES = [
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "DATABASE_URL",
    "STRIPE_SECRET_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "STRIPE_CONNECT_JS_URL",
    "SECURE_HSTS_SECONDS",
    "TASKS_BACKEND",
    "REDIS_URL",
    "DJANGO_CACHE_BACKEND",
    "DJANGO_CACHE_LOCATION",
]


@pytest.fixture
def load(monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)

    def load_with(**env: str) -> dict:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(SETTINGS)

    return load_with


PRODUCTION = {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 50, "STRIPE_SECRET_KEY": "sk_live_1"}


def test_development_defaults_run_on_sqlite_against_the_emulator(load):
    settings = load()
    assert settings["DEBUG"] is True
    assert settings["DATABASES"]["default"]["ENGINE"] == "django.db.backends.sqlite3"
    assert settings["STRIPE_API_BASE"] == "http://127.0.0.1:12111"
    assert settings["STRIPE_CONNECT_JS_URL"] == "http://127.0.0.1:12111/connect-js/v1.0/connect.js"


def test_tasks_run_from_the_database_without_redis_by_default(load):
    settings = load()
    assert settings["TASKS"]["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"
    assert settings["CACHES"]["default"]["BACKEND"].endswith("FileBasedCache")
    assert "django_rq" not in settings["INSTALLED_APPS"]


def test_redis_url_shares_the_cache_and_sessions_between_hosts(load):
    settings = load(REDIS_URL="redis://cache.internal:6379/2")
    assert settings["CACHES"]["default"]["BACKEND"] == (
        "django.core.cache.backends.redis.RedisCache"
    )
    assert settings["CACHES"]["default"]["LOCATION"] == "redis://cache.internal:6379/2"
    assert settings["SESSION_ENGINE"] == "django.contrib.sessions.backends.cached_db"
    assert settings["TASKS"]["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"


def test_the_rq_backend_queues_tasks_in_redis(load):
    settings = load(TASKS_BACKEND="rq", REDIS_URL="redis://queue.internal:6379/0")
    assert settings["TASKS"]["default"]["BACKEND"] == "django_tasks_rq.RQBackend"
    assert settings["RQ_QUEUES"]["default"]["URL"] == "redis://queue.internal:6379/0"
    assert {"django_rq", "django_tasks_rq"} <= set(settings["INSTALLED_APPS"])


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TASKS_BACKEND": "rq"}, "needs REDIS_URL"),
        ({"TASKS_BACKEND": "celery"}, "use db or rq"),
        ({"REDIS_URL": "http://cache.internal"}, "REDIS_URL"),
    ],
)
def test_task_backend_and_redis_mistakes_are_refused(load, env, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        load(**env)


def test_database_url_selects_postgresql(load):
    settings = load(DATABASE_URL="postgres://app:pw@db.internal:5432/billing")
    database = settings["DATABASES"]["default"]
    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["NAME"], database["USER"]) == (
        "db.internal",
        "billing",
        "app",
    )


def test_production_requires_a_secret_key(load):
    with pytest.raises(ImproperlyConfigured, match="DJANGO_SECRET_KEY"):
        load(DJANGO_DEBUG="0")


def test_production_turns_on_secure_cookies_hsts_and_proxy_ssl(load):
    settings = load(**PRODUCTION)
    assert settings["SESSION_COOKIE_SECURE"] and settings["CSRF_COOKIE_SECURE"]
    assert settings["SECURE_HSTS_SECONDS"] >= 31_536_000
    assert settings["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert settings["SECURE_SSL_REDIRECT"] is True


def test_production_talks_to_real_stripe_unless_told_otherwise(load):
    settings = load(**PRODUCTION)
    assert settings["STRIPE_API_BASE"] == ""
    assert settings["STRIPE_CONNECT_JS_URL"] == "https://connect-js.stripe.com/v1.0/connect.js"


def test_production_requires_a_stripe_key(load):
    env = dict(PRODUCTION)
    del env["STRIPE_SECRET_KEY"]
    with pytest.raises(ImproperlyConfigured, match="STRIPE_SECRET_KEY"):
        load(**env)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DJANGO_DEBUG": "maybe"}, "not a boolean"),
        ({"DATABASE_URL": "nonsense://x"}, "DATABASE_URL"),
        ({"STRIPE_API_BASE": "localhost:12111"}, "not an http"),
        ({"STRIPE_SECRET_KEY": "pk_test_oops"}, "must start with sk_"),
        ({"STRIPE_WEBHOOK_SECRET": "secret"}, "must start with whsec_"),
        ({**PRODUCTION, "SECURE_HSTS_SECONDS": "a year"}, "not an integer"),
        ({**PRODUCTION, "SECURE_HSTS_SECONDS": "-1"}, "at least 0"),
    ],
)
def test_malformed_values_fail_loudly(load, env, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        load(**env)


def test_secrets_can_come_from_files(load, tmp_path):
    secret_file = tmp_path / "key"
    secret_file.write_text("from-a-file\n")
    settings = load(DJANGO_SECRET_KEY_FILE=str(secret_file))
    assert settings["SECRET_KEY"] == "from-a-file"


def _start(extra_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run Python with production settings in a fresh process, as a server would start."""
    env = {
        k: v for k, v in os.environ.items() if k not in ENV_NAMES and k != "DJANGO_SETTINGS_MODULE"
    }
    env.update({**PRODUCTION, "DJANGO_ALLOWED_HOSTS": "billing.example.com", **extra_env})
    return subprocess.run(
        [sys.executable, *args],
        cwd=Path(SETTINGS).parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_production_server_refuses_to_start_without_the_webhook_secret():
    started = _start({}, "-c", "import storefront.wsgi")
    assert started.returncode != 0
    assert "billing.E001" in started.stderr and "STRIPE_WEBHOOK_SECRET" in started.stderr
    checked = _start({}, "manage.py", "check")
    assert checked.returncode != 0 and "billing.E001" in checked.stderr


def test_a_production_server_starts_with_the_webhook_secret():
    started = _start({"STRIPE_WEBHOOK_SECRET": "whsec_live"}, "-c", "import storefront.wsgi")
    assert started.returncode == 0, started.stderr


def test_development_needs_no_webhook_secret():
    started = _start({"DJANGO_DEBUG": "1"}, "-c", "import storefront.wsgi")
    assert started.returncode == 0, started.stderr
