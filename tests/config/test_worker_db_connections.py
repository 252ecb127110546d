"""A real Celery worker keeps its PostgreSQL connection from task to task when ``CONN_MAX_AGE``
says so (production: 60 s), and closes it after each task when it is 0.

Celery's Django fixup used to close it around every task whatever the setting said; now
``config/celery.py`` closes connections as Django does around a request. Seen from outside:
the worker's connections in ``pg_stat_activity``, matched by the client ports its processes
hold open.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection

from courses import tasks
from courses.models import LessonDelivery
from tests.bench.dispatch_bulk import build_outbox
from tests.courses.factories import course
from tests.support.smtp import SmtpSink, smtp_server
from tests.support.waiting import wait_for
from tests.support.worker import RunningWorker, broker_not_eager, celery_worker, purge_queue

pytestmark = [pytest.mark.django_db(transaction=True)]

TIMEOUT = 60.0


def database_backends(worker: RunningWorker) -> set[tuple[int, datetime]]:
    """(backend pid, connected at) of the worker's connections to this test's database."""
    ports = worker.local_ports()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start, client_port FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return {(pid, started) for pid, started, port in cursor.fetchall() if port in ports}


def send_one_lesson(sink: SmtpSink, number: int) -> None:
    """One due lesson of a new course, sent by the worker (the dispatcher task, then a send)."""
    page = course(lessons=1, title=f"Course {number}")
    build_outbox(
        course_page=page, learners=1, sent=0, due=1, now=datetime.now(UTC), tag=f"c{number}"
    )
    tasks.dispatch_due_lessons.delay()
    wait_for(lambda: sink.count >= number, timeout=TIMEOUT, what=f"e-mail {number}")
    wait_for(
        lambda: not LessonDelivery.objects.exclude(status="sent").exists(),
        timeout=TIMEOUT,
        what="the sent mark",
    )


@contextmanager
def worker_and_sink(
    tmp_path: Path, *, conn_max_age: int
) -> Iterator[tuple[RunningWorker, SmtpSink]]:
    """A real worker with this ``CONN_MAX_AGE``, sending to a loopback SMTP sink."""
    with smtp_server() as sink, broker_not_eager():
        purge_queue()
        with celery_worker(
            smtp_port=sink.port, log_path=tmp_path / "worker.log", conn_max_age=conn_max_age
        ) as worker:
            yield worker, sink


def test_a_worker_with_conn_max_age_reuses_its_database_connection_across_tasks(tmp_path):
    with worker_and_sink(tmp_path, conn_max_age=60) as (worker, sink):
        send_one_lesson(sink, 1)
        wait_for(lambda: database_backends(worker), timeout=5, what="a kept connection")
        after_first = database_backends(worker)
        send_one_lesson(sink, 2)
        send_one_lesson(sink, 3)
        after_third = database_backends(worker)

    # Six tasks later (a dispatcher and a send task per lesson), the same backend.
    assert len(after_first) == 1
    assert after_third == after_first


def test_a_worker_without_conn_max_age_closes_its_connection_after_each_task(tmp_path):
    with worker_and_sink(tmp_path, conn_max_age=0) as (worker, sink):
        send_one_lesson(sink, 1)
        wait_for(lambda: not database_backends(worker), timeout=5, what="the connection closed")
