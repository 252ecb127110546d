"""Settings shared by every environment.

``dev.py`` (the default, no environment variables needed), ``test.py`` and ``production.py``
import this module and change only what differs. Everything read from the environment goes
through the one ``env`` object below.
"""

from pathlib import Path
from typing import Any

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE

from config.storage import public_media_origins, s3_storages

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Runtime files of the local setup: the SQLite database, Celery's queue folder, e-mails.
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

# Application definition

INSTALLED_APPS = [
    # Our apps first, so that their templates override third-party ones.
    "accounts",
    "home",
    "courses",
    "workshops",
    "payments",
    # The anonymous page cache and its purges (config/pagecache); every app may call it.
    "config.pagecache",
    # Wagtail
    "wagtail.contrib.forms",
    "wagtail.contrib.redirects",
    "wagtail.contrib.settings",
    "wagtail.contrib.sitemaps",
    "wagtail.embeds",
    "wagtail.sites",
    "accounts.apps.WagtailUsersConfig",  # wagtail.users, with the learner's schedule fields
    "wagtail.snippets",
    "wagtail.documents",
    "wagtail.images",
    "wagtail.search",
    "wagtail.admin",
    "wagtail",
    "modelcluster",
    "taggit",
    "django_filters",
    # Accounts
    "allauth",
    "allauth.account",
    # Background jobs
    "django_celery_beat",
    # Content-Security-Policy (config/security_headers.py)
    "csp",
    # Django
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
]

MIDDLEWARE = [
    # First: every later log line carries the request id; probes skip everything after.
    "config.middleware.RequestIdMiddleware",
    "config.middleware.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "config.security_headers.ContentSecurityPolicyMiddleware",
    "config.security_headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Early: a hit skips the session, CSRF, auth and the page routing altogether.
    "config.pagecache.middleware.AnonymousPageCacheMiddleware",
    # On a miss: Wagtail's site and its home page from the cache, not two queries.
    "config.pagecache.sites.KeptSiteMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.LearnerTimezoneMiddleware",
    "wagtail.contrib.redirects.middleware.RedirectMiddleware",
    "config.middleware.FriendlyMethodNotAllowedMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wagtail.contrib.settings.context_processors.settings",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

# Database: each environment sets DATABASES.
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Users and sign-in (django-allauth, e-mail only)

AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"

# Sessions read from the default cache (Redis in production) and written through to the
# database: a signed-in page costs a cache read rather than a query, and a cache flush or
# restart signs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
# Confirming an address does not sign in: the link may be opened on another device.
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SESSION_REMEMBER = None
# No "[site] " prefix: subjects read like the site's other e-mails (accounts.adapter).
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
ACCOUNT_FORMS = {"login": "accounts.forms.LoginForm", "signup": "accounts.forms.SignupForm"}
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
# A signed-in learner sent to the sign-in by the admin ("you do not have permission") sees the
# form and that message; redirecting them back to ?next=/admin/ would loop.
ACCOUNT_AUTHENTICATED_LOGIN_REDIRECTS = False
# Written out (these are allauth's defaults) so that nobody switches them off by accident.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
}

# Security headers (config/security_headers.py)

# The site's pages: scripts and styles from this origin only, no inline ones, no plugins.
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "media-src": [SELF],
        # Lesson and course videos are YouTube or Vimeo embeds (courses.blocks.VideoBlock).
        "frame-src": [
            "https://www.youtube.com",
            "https://www.youtube-nocookie.com",
            "https://player.vimeo.com",
        ],
        "object-src": [NONE],
        "base-uri": [SELF],
        # Wagtail's preview shows our pages in a frame of the admin (same origin).
        "frame-ancestors": [SELF],
    },
}
# The Wagtail (and Django) admin runs inline scripts and styles of its own; still this origin
# only for scripts, no plugins, no framing by others.
ADMIN_URL_PREFIXES = ("/admin/", "/django-admin/")
ADMIN_CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, UNSAFE_INLINE],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "frame-src": [SELF, "https:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "frame-ancestors": [SELF],
    },
}
SECURE_REFERRER_POLICY = "same-origin"

# Internationalization

LANGUAGE_CODE = "en-us"
# The fallback zone for visitors whose own zone we don't know yet.
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files and uploads

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))

STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Uploads on S3-compatible object storage when a bucket is named, so that every web machine and
# worker sees the same files: documents private (presigned URLs after the access check), image
# renditions public (config/storage.py). Without a bucket, the local MEDIA_ROOT.
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES.update(
        s3_storages(
            bucket=AWS_STORAGE_BUCKET_NAME,
            endpoint_url=env("AWS_S3_ENDPOINT_URL", default=""),
            region=env("AWS_S3_REGION_NAME", default=""),
            access_key=env("AWS_ACCESS_KEY_ID", default=""),
            secret_key=env("AWS_SECRET_ACCESS_KEY", default=""),
            querystring_expire=env.int("AWS_QUERYSTRING_EXPIRE", default=120),
            public_acl=env("AWS_PUBLIC_MEDIA_ACL", default="public-read"),
            custom_domain=env("AWS_S3_CUSTOM_DOMAIN", default=""),
        )
    )
    WAGTAILIMAGES_RENDITION_STORAGE = "public_media"
    WAGTAILDOCS_SERVE_METHOD = "redirect"
    # Pages show renditions from the bucket's own origin.
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"] += public_media_origins(
        bucket=AWS_STORAGE_BUCKET_NAME,
        endpoint_url=env("AWS_S3_ENDPOINT_URL", default=""),
        region=env("AWS_S3_REGION_NAME", default=""),
        custom_domain=env("AWS_S3_CUSTOM_DOMAIN", default=""),
    )

# Wagtail's page editor posts many fields for long StreamFields.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# Wagtail

WAGTAIL_SITE_NAME = "microcourses"
# One way in: the admin sends people to allauth's sign-in (rate limits, lockout, mandatory
# verification); Wagtail's own login, password reset and password change are off.
WAGTAILADMIN_LOGIN_URL = "account_login"
WAGTAIL_PASSWORD_RESET_ENABLED = False
WAGTAIL_PASSWORD_MANAGEMENT_ENABLED = False
# No avatars from Gravatar: they would tell a third party who uses the admin (and break the
# admin's Content-Security-Policy, which loads images from here only).
WAGTAIL_GRAVATAR_PROVIDER_URL = None
# The public base URL: absolute links in e-mails, the Wagtail admin's own links.
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
WAGTAILADMIN_BASE_URL = SITE_URL
WAGTAILSEARCH_BACKENDS = {"default": {"BACKEND": "wagtail.search.backends.database"}}
WAGTAILDOCS_EXTENSIONS = ["csv", "docx", "key", "odt", "pdf", "pptx", "rtf", "txt", "xlsx", "zip"]
WAGTAILDOCS_MAX_UPLOAD_SIZE = 10 * 1024 * 1024

# The anonymous page cache (config/pagecache): each environment points CACHES["pages"] at a
# cache every process shares. SECONDS is the longest a page is kept (and a CDN's s-maxage);
# purges make it exact before that.
# VARY_ON_COOKIES: cookies an anonymous page is rendered with, one stored copy per value: the
# browser's time zone (accounts.middleware.BROWSER_TIMEZONE_COOKIE), in which times are shown.
PAGE_CACHE = {
    "ENABLED": True,
    "ALIAS": "pages",
    "SECONDS": 300,
    "KEY_PREFIX": "pc",
    "VARY_ON_COOKIES": ["tz"],
}

# E-mail

DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="microcourses <hello@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The right-hand side of the Message-IDs we generate (lesson e-mails have stable ones).
EMAIL_MESSAGE_ID_DOMAIN = env("EMAIL_MESSAGE_ID_DOMAIN", default="microcourses.local")

# Celery (read by config/celery.py from the CELERY_ namespace)

CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# A task is acknowledged only after it ran, and put back if its worker dies mid-task, so a
# crash never loses work. Tasks must therefore be idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# On a lost broker connection the broker re-delivers the worker's unacknowledged tasks; stop
# the copies still running here rather than let two run at once (see config/celery.py). The
# lesson send task then records what it sent and hands back the rest (courses/dispatch.py).
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Celery's Django fixup closes a worker's database connections before and after every task
# unless told to reuse them for this many tasks: a new PostgreSQL connection twice per send task
# of 50 lessons. config/celery.py closes them around each task as Django does around a request
# instead (close_old_connections: CONN_MAX_AGE, broken connections), so this is only a backstop.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_TIME_LIMIT = 300
# The longest countdown any task uses (a retry backoff) is 1 hour; Redis re-delivers an
# unacknowledged message after the visibility timeout, so it must be longer than that.
# Long schedules (lessons due in days) live in database rows scanned by beat jobs instead.
CELERY_MAX_COUNTDOWN_SECONDS = 60 * 60
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
    "visibility_timeout": 2 * CELERY_MAX_COUNTDOWN_SECONDS
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic jobs; apps add their own entries here, and the database scheduler copies them
# into django-celery-beat's tables at start.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    # Lesson e-mails (courses/dispatch.py): claim the due outbox rows and queue their sending.
    "dispatch-due-lessons": {
        "task": "courses.tasks.dispatch_due_lessons",
        # At second 0 of every minute, when lessons fall due (a send hour is on the hour): a
        # 60 s interval ran at whatever second beat started, up to 60 s after the lessons.
        "schedule": crontab(minute="*"),
        # A tick that waited in the queue past the next one is useless: the next does its work.
        # (django-celery-beat's name for the ``expires`` option of apply_async.)
        "options": {"expire_seconds": 55},
    },
    # Every other e-mail (accounts/outbox.py): send rows whose task never reached the broker,
    # whose retry time came, or whose worker died.
    "sweep-outbox": {
        "task": "accounts.tasks.sweep_outbox",
        "schedule": 60.0,
        "options": {"expire_seconds": 55},
    },
    # Workshop seats (workshops/tasks.py): give back expired holds, move expired offers on.
    "workshops-release-expired-holds": {
        "task": "workshops.tasks.release_expired_holds",
        "schedule": 60.0,
    },
    "workshops-expire-offers": {"task": "workshops.tasks.expire_offers", "schedule": 60.0},
    "workshops-send-due-reminders": {
        "task": "workshops.tasks.send_due_reminders",
        "schedule": 5 * 60.0,
    },
}
CELERY_TASK_IGNORE_RESULT = True

# Payments

# How long after payment a creator may refund their own course's order (staff: always).
CREATOR_REFUND_WINDOW_DAYS = env.int("CREATOR_REFUND_WINDOW_DAYS", default=14)
# The platform's share of each sale, in percent (payments/fees.py has the rounding rule).
PLATFORM_FEE_PERCENT = env.str("PLATFORM_FEE_PERCENT", default="10")
# The signing secret of the Connect webhook endpoint (events of creators' connected accounts:
# account.updated, payout.paid). Stripe signs each endpoint with its own secret; empty when
# one endpoint receives everything (the emulator).
STRIPE_CONNECT_WEBHOOK_SECRET = env.str("STRIPE_CONNECT_WEBHOOK_SECRET", default="")
# Who hears about disputes and permanently failed deliveries (comma-separated addresses).
ADMINS = [("Staff", address) for address in env.list("STAFF_EMAILS", default=[])]

# Learners

# A new learner's lesson e-mails arrive at this local hour until they choose another.
DEFAULT_LESSON_SEND_HOUR = 8

LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "config.logs.ContextFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["context"]}
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {
        "django.request": {"level": "ERROR"},
        # Wagtail runs its search-index and reference-index updates as django-tasks, each
        # logged twice at INFO.
        "django_tasks": {"level": "WARNING"},
    },
}
