"""Benchmark: how long a killed worker's lessons wait (``make bench``; skipped by ``make test``).

2,000 due lessons, sent by a real ``celery worker`` with 2 prefork processes into a loopback
SMTP sink. Once 500 have arrived the worker and its processes are SIGKILLed (a power cut, an
OOM kill) and a new worker is started at once. The dispatcher runs every second here, as beat's
every-minute run would, but without the wait for the next minute.

Measured: from the kill until every row is ``sent``. The rows the killed send tasks had taken
over come back when their send lease runs out (``SEND_LEASE``, 2 minutes after its last
renewal, renewed every ``LEASE_RENEW_INTERVAL``): expect a little under 2 minutes, plus up to a
minute in production for beat's next run. Also: duplicates at the sink, within the bound in
``courses/dispatch.py`` (``SENT_MARK_GROUP`` per send task the worker was running).
"""

import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from courses.dispatch import SEND_LEASE, SENT_MARK_GROUP, claim_due_deliveries
from courses.models import LessonDelivery
from tests.bench.dispatch_bulk import build_outbox
from tests.bench.test_dispatch_bench import LESSON_BODY, show
from tests.courses.factories import course, lesson
from tests.support.smtp import smtp_server
from tests.support.waiting import wait_for
from tests.support.worker import broker_not_eager, celery_worker, purge_queue

pytestmark = [pytest.mark.django_db(transaction=True, serialized_rollback=True)]

LESSONS = 2_000
KILL_AFTER = 500
WORKER_PROCESSES = 2
# The send lease, a minute of slack for a loaded machine, then the benchmark gives up.
TIMEOUT = SEND_LEASE.total_seconds() + 60


def test_bench_a_killed_workers_lessons_are_sent_again_within_the_send_lease(tmp_path):
    page = course(lessons=0, title="Killed mid-batch")
    lesson(page, day=0, title="Shaping the loaf", body=LESSON_BODY)
    build_outbox(course_page=page, learners=LESSONS, sent=0, due=1, now=datetime.now(UTC))
    unsent = LessonDelivery.objects.filter(enrollment__course=page).exclude(
        status=LessonDelivery.Status.SENT
    )

    with smtp_server() as sink, broker_not_eager():
        purge_queue()
        with celery_worker(
            smtp_port=sink.port, log_path=tmp_path / "killed.log", concurrency=WORKER_PROCESSES
        ) as worker:
            claim_due_deliveries()
            wait_for(lambda: sink.count >= KILL_AFTER, timeout=120, what=f"{KILL_AFTER} e-mails")
            killed_at = time.monotonic()
            worker.sigkill()
            arrived_at_kill = sink.count
        with celery_worker(
            smtp_port=sink.port, log_path=tmp_path / "restarted.log", concurrency=WORKER_PROCESSES
        ):
            restarted_after = time.monotonic() - killed_at
            while unsent.exists():
                assert time.monotonic() - killed_at < TIMEOUT, f"{unsent.count()} never sent"
                claim_due_deliveries()
                time.sleep(1)
            all_sent_after = time.monotonic() - killed_at

    copies = Counter(message["Message-ID"] for message in sink.messages())
    duplicates = sum(count - 1 for count in copies.values())
    bound = SENT_MARK_GROUP * WORKER_PROCESSES
    name = f"killed worker, {LESSONS:,} lessons"
    show(
        [
            (name, "arrived before the SIGKILL", f"{arrived_at_kill:,}"),
            (name, "new worker answering after", f"{restarted_after:.1f} s"),
            (name, "every row sent, after the kill", f"{all_sent_after:.1f} s"),
            (name, "send lease (+ up to 60 s for beat's tick)", f"{SEND_LEASE.seconds} s"),
            (name, f"duplicates (bound {bound})", str(duplicates)),
        ]
    )
    assert len(copies) == LESSONS
    assert duplicates <= bound
    assert all_sent_after <= TIMEOUT
