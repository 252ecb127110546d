"""Local development: `make run` on a fresh machine, no environment variables needed.

SQLite, Celery's filesystem transport and e-mail as files, all under ``var/``.
"""

from .base import *

DEBUG = True
SECRET_KEY = env("SECRET_KEY", default="dev-only-not-secret-3b1f0c7e9a2d4f6b8c0e2a4d6f8b0c2e")
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

for folder in ("celery", "mail", "media"):
    (VAR_DIR / folder).mkdir(parents=True, exist_ok=True)

# The web process and the Celery worker share this file: WAL lets readers work during a write,
# IMMEDIATE transactions take the write lock up front (no upgrade deadlocks), and the busy
# timeout makes a writer wait instead of failing with "database is locked".
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": VAR_DIR / "db.sqlite3",
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
}

# Celery's filesystem transport: messages are files in one folder that both sides read and write.
CELERY_BROKER_URL = "filesystem://"
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "data_folder_in": str(VAR_DIR / "celery"),
    "data_folder_out": str(VAR_DIR / "celery"),
    # Its exchange table; by default a "control" folder in the working directory.
    "control_folder": str(VAR_DIR / "celery-control"),
}

EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = VAR_DIR / "mail"

# Plain storage: `make run` doesn't run collectstatic.
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Files: the worker's purges (a seat sold by a webhook task) must reach the web process.
    "pages": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": VAR_DIR / "cache" / "pages",
    },
}

# The loopback Stripe emulator that `make run` starts (payments/emulator).
STRIPE_API_BASE = env("STRIPE_API_BASE", default="http://127.0.0.1:12111")
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="sk_test_emulator")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="pk_test_emulator")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="whsec_emulator_dev")
