"""Settings for the test suite: the app's settings with fast, synchronous, offline parts."""

import os
import tempfile
from urllib.parse import urlsplit

os.environ.setdefault("DJANGO_DEBUG", "1")
# Playwright's sync API runs an event loop in the test thread; Django's async-safety check
# would then refuse the ORM calls that the test (not the loop) makes.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from storefront.settings import *  # noqa: E402, F403

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not SQLite's shared-cache memory database: concurrency tests then see the same
    # locking a real deployment does (shared cache fails with "table is locked" instead).
    # One file per test process, so concurrent runs (and xdist workers) never share it.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"storefront-test-{os.getpid()}.sqlite3")
    }

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# Live-server request threads must not keep connections open past the request: PostgreSQL
# then refuses to drop the test database at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
if TASKS_BACKEND == "rq":  # noqa: F405
    # TASKS_BACKEND=rq REDIS_URL=redis://…: tasks go through Redis to an RQ worker that the
    # tests run in-process (tests/rq_worker.py). Each xdist worker gets its own Redis database,
    # so no worker runs another's jobs against the wrong test database.
    _worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    _redis = urlsplit(REDIS_URL)  # noqa: F405
    RQ_QUEUES = {  # noqa: F405
        "default": {
            "URL": _redis._replace(path=f"/{8 + _worker % 8}").geturl(),
            "DEFAULT_TIMEOUT": 600,
        }
    }
else:
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
# Tests need no collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_AUTOREFRESH = True
# Tests point the SDK at an emulator they start themselves, on a free port.
STRIPE_API_BASE = ""
