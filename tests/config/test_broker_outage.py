"""The broker unreachable (its URL pointing at a closed port) while learners act: the pages
answer as usual, the change is committed, and the lost hand-off is logged at ERROR level for
staff, never a 500.

Real parts: the Celery app publishes for real (eager mode off) to a Redis URL where nothing
listens; kombu's connection is refused and its publish retries run out.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from config.celery import app as celery_app
from courses.models import LessonDelivery
from courses.services import enroll
from tests.courses.factories import course, morning_learner
from tests.support.network import free_port
from tests.workshops.factories import workshop_page
from workshops.models import Registration

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down():
    """Publish for real, to a Redis port where nothing listens."""
    # Import the apps' tasks now: config.queueing does it on first use, and Celery's Django
    # fixup then runs django.setup() again, whose logging configuration would drop pytest's
    # log capture in the middle of the test.
    celery_app.loader.import_default_modules()
    previous = celery_app.conf.task_always_eager, celery_app.conf.broker_url
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    _forget_connections()  # those made for the real broker must not be reused
    try:
        yield
    finally:
        celery_app.conf.task_always_eager, celery_app.conf.broker_url = previous
        _forget_connections()


def _forget_connections() -> None:
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


def test_a_free_workshop_registration_with_the_broker_down_is_a_redirect_not_a_500(
    client, broker_down, django_capture_on_commit_callbacks, caplog
):
    workshop = workshop_page()
    ada = morning_learner(email="ada@example.com")
    client.force_login(ada)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("workshops:register", args=[workshop.pk]))

    assert response.status_code == 302
    assert Registration.objects.get(learner=ada).status == "confirmed"
    # The lost hand-off is logged for staff (Django logs a failed robust callback at ERROR).
    assert any(
        record.levelname == "ERROR" and "on_commit" in record.getMessage().lower()
        for record in caplog.records
    ), [record.getMessage() for record in caplog.records]


def test_an_enrolment_with_the_broker_down_still_writes_its_lesson_outbox(
    broker_down, django_capture_on_commit_callbacks
):
    # Lessons need no broker at enrolment: their outbox rows are written in the transaction
    # and the every-minute dispatcher finds them once the broker is back.
    page = course(lessons=2)
    now = datetime.now(UTC)
    with django_capture_on_commit_callbacks(execute=True):
        enrollment = enroll(learner=morning_learner(), course=page, now=now - timedelta(days=1))

    assert LessonDelivery.objects.filter(enrollment=enrollment).count() == 2
