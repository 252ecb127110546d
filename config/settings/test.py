"""Tests: real PostgreSQL and Redis (see tests/conftest.py for the service checks)."""

from .base import *

DEBUG = False
SECRET_KEY = "test-only-not-secret-7d2c9e4b1a0f3e5d7c9b1a3e5f7d9c1b"
ALLOWED_HOSTS = ["*"]

DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/microcourses"),
}
# A new connection for every request and task, unless a test starts a worker that keeps its
# connections as production does (tests/support/worker.py).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
REDIS_URL = env("REDIS_URL", default="redis://127.0.0.1:6379/0")

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The manifest storage needs collectstatic first; tests don't run it.
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
MEDIA_ROOT = env.path("MEDIA_ROOT", default="/tmp/microcourses-test-media")  # noqa: S108

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
# The real-worker tests start a Celery worker in a subprocess that sends to a loopback SMTP
# server of the test (tests/support/smtp.py); these point it there.
EMAIL_HOST = env("EMAIL_HOST", default="127.0.0.1")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_TIMEOUT = 10

# A real cache: allauth's rate limits count in it.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # Redis, as in production. Each test gets its own PAGE_CACHE KEY_PREFIX (tests/conftest.py).
    "pages": {"BACKEND": "config.cache.RedisCache", "LOCATION": REDIS_URL},
}

CELERY_BROKER_URL = REDIS_URL
# Unit tests run tasks in-process; the tests that need a real worker switch this off (and their
# worker subprocess gets CELERY_TASK_ALWAYS_EAGER=false).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_TASK_EAGER_PROPAGATES = True

# The tests start the Stripe emulator on a free port and point STRIPE_API_BASE at it.
STRIPE_API_BASE = env("STRIPE_API_BASE", default="http://127.0.0.1:12111")
STRIPE_SECRET_KEY = "sk_test_emulator"
STRIPE_PUBLISHABLE_KEY = "pk_test_emulator"
STRIPE_WEBHOOK_SECRET = "whsec_emulator_test"

SITE_URL = WAGTAILADMIN_BASE_URL = "http://testserver"

# Serve static files from the apps' folders, as in development: tests don't run collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
