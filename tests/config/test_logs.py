"""Production logs are JSON lines that name their request, user and Celery task; error mail
to staff is rate-limited."""

import json
import logging
import os
import uuid

import pytest
from django.core import mail

from config.logs import RateLimitFilter
from tests.config.test_production_settings import PRODUCTION_ENV, manage

PROBE = """
import logging
from celery import shared_task
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.functional import SimpleLazyObject
from accounts.models import User
from config.middleware import RequestIdMiddleware

log = logging.getLogger("microcourses.probe")

def view(request):
    log.warning("before the user is loaded")
    assert request.user.is_authenticated
    log.warning("inside the view")
    return HttpResponse()

request = RequestFactory().get("/", HTTP_X_REQUEST_ID="probe-request-0001")
request.user = SimpleLazyObject(lambda: User(pk=42, email="x@example.com"))
RequestIdMiddleware(view)(request)

@shared_task(name="ops.probe")
def probe():
    log.warning("inside a task")

probe.apply(task_id="probe-task-0001")
log.warning("outside everything")
"""


def json_lines(stderr: str) -> list[dict]:
    return [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]


def test_production_logs_are_json_with_request_user_and_task_ids():
    result = manage("shell", "-c", PROBE, env={**PRODUCTION_ENV, "SECURE_SSL_REDIRECT": "false"})
    assert result.returncode == 0, result.stderr

    lines = {line["message"]: line for line in json_lines(result.stderr)}

    in_view = lines["inside the view"]
    assert in_view["level"] == "WARNING"
    assert in_view["logger"] == "microcourses.probe"
    assert in_view["request_id"] == "probe-request-0001"
    assert in_view["user_id"] == 42
    assert in_view["task_id"] is None
    assert "time" in in_view
    # Logging never loads the user itself (it may be reporting that the database is down).
    assert lines["before the user is loaded"]["user_id"] is None
    assert lines["before the user is loaded"]["request_id"] == "probe-request-0001"

    in_task = lines["inside a task"]
    assert in_task["task_id"] == "probe-task-0001"
    assert in_task["request_id"] is None

    assert lines["outside everything"]["request_id"] is None


def test_without_sentry_errors_are_mailed_to_staff():
    script = (
        "from django.conf import settings; import json; "
        "print(json.dumps([settings.LOGGING['root']['handlers'], settings.ADMINS]))"
    )
    with_staff = {**PRODUCTION_ENV, "STAFF_EMAILS": "ops@example.com"}
    result = manage("shell", "-c", script, env=with_staff)
    assert result.returncode == 0, result.stderr
    handlers, admins = json.loads(result.stdout.strip().splitlines()[-1])
    assert handlers == ["console", "mail_admins"]
    assert admins == [["Staff", "ops@example.com"]]

    # With SENTRY_DSN set, Sentry reports errors and nobody gets mail.
    with_sentry = {**with_staff, "SENTRY_DSN": "https://public@sentry.example.com/1"}
    result = manage("shell", "-c", script, env=with_sentry)
    assert result.returncode == 0, result.stderr
    handlers, _admins = json.loads(result.stdout.strip().splitlines()[-1])
    assert handlers == ["console"]


@pytest.mark.django_db
def test_error_mail_is_rate_limited_per_kind_of_error(settings):
    settings.ADMINS = [("Staff", "ops@example.com")]
    from django.utils.log import AdminEmailHandler

    handler = AdminEmailHandler()
    handler.addFilter(RateLimitFilter(seconds=300))
    logger = logging.getLogger("tests.config.rate_limited")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        for attempt in range(50):
            logger.error("SMTP refused lesson %s", attempt)
        logger.error("Stripe answered %s", 500)
    finally:
        logger.removeHandler(handler)
        logger.propagate = True

    subjects = [message.subject for message in mail.outbox]
    assert subjects == [
        "[Django] ERROR: SMTP refused lesson 0",
        "[Django] ERROR: Stripe answered 500",
    ]


def test_production_mails_an_error_to_staff_once_per_kind():
    """The production logging configuration itself: the same ERROR logged twice (a lesson
    e-mail failing for good, as courses.dispatch logs it) reaches STAFF_EMAILS once."""
    # A message of its own per run: the rate limit's mark stays in Redis for five minutes.
    template = f"Lesson delivery %s to %s failed: 554 refused (probe {uuid.uuid4().hex})"
    script = (
        "import logging; log = logging.getLogger('courses.dispatch'); "
        f"log.error({template!r}, 1, 'a@example.com'); "
        f"log.error({template!r}, 2, 'b@example.com')"
    )
    env = {
        **PRODUCTION_ENV,
        "STAFF_EMAILS": "ops@example.com",
        # Django's console backend: each e-mail sent is written to stdout.
        "EMAIL_URL": "consolemail://",
        "REDIS_URL": os.environ.get("REDIS_URL", PRODUCTION_ENV["REDIS_URL"]),
    }

    result = manage("shell", "-c", script, env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Subject: [Django] ERROR") == 1, result.stdout
    assert "To: ops@example.com" in result.stdout
    assert "Subject: [Django] ERROR: Lesson delivery 1 to a@example.com failed" in result.stdout
