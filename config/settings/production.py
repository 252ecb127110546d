"""Production: everything secret or site-specific comes from the environment.

A required variable that is missing stops start-up with django-environ's
"Set the <NAME> environment variable" error. See the README for the full table.
"""

from .base import *

DEBUG = False

SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env("SITE_URL")
WAGTAILADMIN_BASE_URL = SITE_URL

DATABASES = {"default": env.db("DATABASE_URL")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

REDIS_URL = env("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL
CACHES = {
    "default": {"BACKEND": "config.cache.RedisCache", "LOCATION": REDIS_URL},
    "pages": {"BACKEND": "config.cache.RedisCache", "LOCATION": REDIS_URL},
}
PAGE_CACHE = {**PAGE_CACHE, "SECONDS": env.int("PAGE_CACHE_SECONDS", default=300)}
# A caching proxy or CDN in front (Varnish, nginx, Squid): the page cache's purges are sent to
# it too, through Wagtail's frontend cache backends. Cloudflare, CloudFront or Azure: set
# WAGTAILFRONTENDCACHE in a settings module of your own (Wagtail's docs list their options).
_frontend_purge_url = env("FRONTEND_CACHE_PURGE_URL", default="")
if _frontend_purge_url:
    WAGTAILFRONTENDCACHE = {
        "default": {
            "BACKEND": "wagtail.contrib.frontend_cache.backends.HTTPBackend",
            "LOCATION": _frontend_purge_url,
        }
    }

# E-mail through any SMTP provider, e.g. EMAIL_URL=smtp+tls://user:password@smtp.example.com:587
_email = env.email_url("EMAIL_URL")
# Our subclass of Django's SMTP backend: it sends a lesson e-mail's wire bytes, serialised once
# per lesson (config.mail.SiteEmail). Any other backend EMAIL_URL names is used as it is.
EMAIL_BACKEND = (
    "config.mail.SMTPBackend"
    if _email["EMAIL_BACKEND"] == "django.core.mail.backends.smtp.EmailBackend"
    else _email["EMAIL_BACKEND"]
)
EMAIL_HOST = _email["EMAIL_HOST"]
EMAIL_PORT = _email["EMAIL_PORT"]
EMAIL_HOST_USER = _email["EMAIL_HOST_USER"]
EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"]
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 30
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

STRIPE_API_BASE = env("STRIPE_API_BASE", default="")  # empty: Stripe's own servers
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET")

# HTTPS only. The proxy in front of the app terminates TLS and says so in this header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True

# Logs: one JSON object per line on stderr, with the request id, user id and Celery task id
# (config/logs.py), for the platform's log collector. Celery keeps this configuration instead of
# installing its own handlers.
LOGGING["formatters"]["json"] = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s %(task_id)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}
LOGGING["handlers"]["console"]["formatter"] = "json"
LOGGING["root"]["level"] = env("LOG_LEVEL", default="INFO")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Errors: to Sentry when SENTRY_DSN is set (no personal data: no cookies, user e-mails or IPs);
# otherwise by e-mail to STAFF_EMAILS, at most one message per kind of error every 5 minutes.
SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        environment=env("SENTRY_ENVIRONMENT", default="production"),
        release=env("SENTRY_RELEASE", default="") or None,
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
elif ADMINS:
    LOGGING["filters"]["mail_rate_limit"] = {"()": "config.logs.RateLimitFilter", "seconds": 300}
    LOGGING["handlers"]["mail_admins"] = {
        "class": "django.utils.log.AdminEmailHandler",
        "level": "ERROR",
        "filters": ["mail_rate_limit"],
    }
    LOGGING["root"]["handlers"] = ["console", "mail_admins"]
