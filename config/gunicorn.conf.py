"""gunicorn settings for production: ``gunicorn -c config/gunicorn.conf.py config.wsgi``.

Every value can be changed without editing this file through gunicorn's own
``GUNICORN_CMD_ARGS`` or the variables read below (see docs/deploy.md).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")

# Sync workers: every request does its database work and returns. The classic rule of thumb
# (2 x cores + 1) keeps the CPUs busy while some workers wait on PostgreSQL or Redis.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = "sync"

# A request that takes longer than this is killed and logged: our slowest page is far below it,
# and uploads are capped at 10 MB (WAGTAILDOCS_MAX_UPLOAD_SIZE).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
# On SIGTERM or SIGHUP (graceful restart) a worker finishes its requests within this time.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Behind a proxy that keeps connections open to the app.
keepalive = 5

# Recycle workers now and then (spread out by jitter) so a slow leak never builds up.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200

# Load the app once in the master: workers fork with it imported, start faster and share memory.
preload_app = True

# Logs go to stdout/stderr for the process manager to collect. %(M)s is the request time in
# milliseconds, %({x-request-id}o)s the id our middleware puts on every response.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = (
    '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(f)s" "%(a)s" request_id=%({x-request-id}o)s'
)

# The TLS proxy in front sets X-Forwarded-Proto; trust it from any address the proxy uses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):
    # Connections opened while the app was preloaded must not be shared across forked workers.
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        connection.close()
