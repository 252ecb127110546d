"""End to end with real parts: a Celery worker process on Redis, this test's PostgreSQL
database, and a loopback SMTP server (aiosmtpd). Exactly one message per due lesson arrives,
with its stable Message-ID and the one-click pause headers, even when a send task is delivered
twice.

The worker runs ``config.settings.test`` with the broker eager mode off and its e-mail pointed
at the SMTP server; it reaches this test's rows because the test commits them
(``transaction=True``). Every wait is bounded and the worker is stopped in a ``finally``.
"""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from courses import tasks
from courses.models import LessonDelivery
from tests.courses.factories import course, enroll, morning_learner
from tests.support.smtp import smtp_server
from tests.support.waiting import wait_for
from tests.support.worker import broker_not_eager, celery_worker, purge_queue

pytestmark = [
    # Real commits: other threads and processes must see the rows.
    pytest.mark.django_db(transaction=True),
]

DELIVERY_TIMEOUT = 60.0


def test_real_worker_sends_each_due_lesson_exactly_once_with_its_headers(tmp_path):
    page = course(lessons=3)
    now = datetime.now(UTC)
    # Enrolled three days ago (the worker reads the real clock): lessons 0-2 are all due.
    enrollments = [
        enroll(morning_learner(email=f"reader{n}@example.com"), page, now=now - timedelta(days=3))
        for n in range(4)
    ]
    # Hold back the last lesson of the first learner, to release it later.
    held_back = enrollments[0].deliveries.get(lesson__day=2)
    LessonDelivery.objects.filter(pk=held_back.pk).update(due_at=now + timedelta(days=30))
    due = list(LessonDelivery.objects.exclude(pk=held_back.pk).order_by("pk"))
    assert len(due) == 11

    with smtp_server() as sink, broker_not_eager():
        purge_queue()
        with celery_worker(smtp_port=sink.port, log_path=tmp_path / "worker.log"):
            # The beat job's task, run by the worker: it claims and queues the send batches.
            tasks.dispatch_due_lessons.delay()
            wait_for(lambda: sink.count >= len(due), timeout=DELIVERY_TIMEOUT, what="11 e-mails")

            # A send task delivered a second time (as Redis does after a lost ack) sends
            # nothing; then the held-back lesson is released. The worker runs one task at a
            # time in order, so once the released lesson has arrived the repeat has run too.
            # (It carries a claim token that owns none of them any more.)
            tasks.send_lesson_batch.delay([row.pk for row in due], str(uuid.uuid4()))
            LessonDelivery.objects.filter(pk=held_back.pk).update(due_at=now)
            tasks.dispatch_due_lessons.delay()
            wait_for(lambda: sink.count >= len(due) + 1, timeout=DELIVERY_TIMEOUT, what="the 12th")

    received = {message["Message-ID"]: message for message in sink.messages()}
    expected = {row.message_id for row in [*due, held_back]}
    assert sink.count == 12 and set(received) == expected  # 12 messages, 12 distinct ids
    for row in [*due, held_back]:
        message = received[row.message_id]
        assert message["To"] == row.enrollment.learner.email
        assert message["Subject"] == (
            f"Day {row.lesson.day + 1}: {row.lesson.title} - {page.title}"
        )
        assert message["List-Unsubscribe"].strip().startswith("<http://testserver/courses/pause/")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message.get_body(preferencelist=("plain",)) is not None
        assert message.get_body(preferencelist=("html",)) is not None
    assert set(LessonDelivery.objects.values_list("status", "attempts")) == {
        (LessonDelivery.Status.SENT, 1)
    }
