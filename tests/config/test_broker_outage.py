"""The broker unreachable (its URL pointing at a closed port) while learners act: the pages
answer as usual, the change is committed, never a 500. An e-mail waits on the outbox for the
sweeper (a WARNING: nothing is lost); any other lost hand-off is logged at ERROR for staff.

Real parts: the Celery app publishes for real (eager mode off) to a Redis URL where nothing
listens; kombu's connection is refused and its publish retries run out.
"""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from accounts.models import OutboundEmail
from accounts.outbox import outbound_email, queue_emails
from config.queueing import enqueue
from courses.models import LessonDelivery
from courses.services import enroll
from tests.courses.factories import course, morning_learner
from tests.support.worker import broker_unreachable
from tests.workshops.factories import workshop_page
from workshops.models import Registration

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_down():
    with broker_unreachable():
        yield


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
    # The e-mail waits on the outbox for the sweeper; the missed publish is only a warning,
    # since nothing is lost (tests/payments/test_broker_outage.py sends it once it is back).
    [email] = OutboundEmail.objects.filter(user=ada)
    assert email.status == OutboundEmail.Status.PENDING
    assert any(
        record.levelname == "WARNING" and "sweeper" in record.getMessage()
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


def test_a_task_queued_after_commit_with_the_broker_down_is_logged_not_raised(broker_down, caplog):
    # What payments does when workshops tells it a paid seat was cancelled (after commit).
    enqueue("payments.tasks.refund_cancelled_seat", 123)

    [record] = [record for record in caplog.records if record.levelname == "ERROR"]
    assert "payments.tasks.refund_cancelled_seat" in record.getMessage()
    assert "123" in record.getMessage()


def test_after_one_failed_publish_the_next_e_mails_wait_for_the_sweeper_without_trying(
    broker_down, django_capture_on_commit_callbacks, caplog
):
    # An announcement to 500 people is 10 send tasks: with the broker down, only the first
    # publish waits for the connection to fail; the rest are left to the sweeper at once.
    rows = [
        outbound_email(to=f"reader{n}@example.com", subject="s", text="t", kind="tests.bulk")
        for n in range(500)
    ]
    caplog.set_level(logging.INFO, logger="config.queueing")
    with django_capture_on_commit_callbacks(execute=True):
        queue_emails(rows)

    assert OutboundEmail.objects.filter(status="pending").count() == 500
    messages = [record.getMessage() for record in caplog.records]
    assert sum("the beat sweeper will do it" in message for message in messages) == 1
    assert sum("the broker was just unreachable" in message for message in messages) == 9
