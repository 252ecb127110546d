"""Benchmarks of the lesson e-mail pipeline (``make bench``; skipped by ``make test``).

(a) Claim and enqueue: an outbox of 1,000,000 rows (100,000 learners x 10 lessons) of which
    100,000 are due, plus 500 expired leases, built with ``generate_series``. Measured: the wall
    time of ``claim_due_deliveries()`` runs, repeated until one claims nothing. That includes,
    per batch of 500, the two ``SELECT ... FOR UPDATE SKIP LOCKED`` claim queries, the UPDATE to
    ``sending``, the COMMIT, and publishing the batch's 10 send tasks (50 ids each) to the real
    Redis broker (eager mode off). The tasks are only queued, not run; the queue is checked to
    hold them all, then purged. Separately: publishing the same number of tasks on their own.

(b) Lessons e-mailed per second: 2,000 due lessons, claimed by the dispatcher task (queued here
    as beat queues it) and sent by a real Celery worker with 2 prefork processes, which runs
    the dispatcher too, into a loopback SMTP sink (aiosmtpd in this process; it keeps each
    message's bytes and parses nothing while the clock runs). Measured from queueing the
    dispatcher until the sink has received all 2,000 messages. Before the clock starts, the
    worker has sent 200 lessons of another course, as a worker that has run for a while has:
    its processes have imported, connected and compiled their templates. Beside it, the
    ceiling: one lesson e-mail's bytes sent 2,000 times by a plain ``smtplib`` loop (its own
    process, one connection) into the same sink, run before and after the pipeline so that a
    change in the machine's load shows, and by two such loops at once (two connections, as the
    worker's two processes have). The sink's per-message INFO logging is off
    (tests/bench/conftest.py): it throttled the loop more than the pipeline. The ratio is
    pipeline / mean of the one-connection loops (target >= 0.6). Three rounds, each with its own
    2,000 lessons; the median ratio is the figure.
"""

import json
import math
import os
import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from django.conf import settings

from courses import tasks
from courses.dispatch import claim_due_deliveries
from courses.emails import build_lesson_email
from courses.models import LessonDelivery, LessonPage
from tests.bench.conftest import record, table
from tests.bench.dispatch_bulk import build_outbox
from tests.bench.smtp_loop import smtp_alone_seconds
from tests.courses.factories import course, lesson
from tests.support.smtp import SmtpSink, smtp_server
from tests.support.waiting import wait_for
from tests.support.worker import broker_not_eager, celery_worker, purge_queue

pytestmark = [
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

CLAIM_NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
OUTBOX_LEARNERS = 100_000  # x 10 lessons = 1,000,000 rows
EMAILS = 2_000
WARM_UP_EMAILS = 200
# (b) is run this many times in a row; the machine's speed drifts, so the median is reported.
ROUNDS = 3
WORKER_PROCESSES = 2
SEND_TIMEOUT = 240.0

LESSON_BODY = json.dumps(
    [
        {
            "type": "text",
            "value": "<h3>Shape &amp; proof</h3><p>Fold the dough <b>four</b> times, then let "
            'it rest. <a href="https://example.org/flour">A flour guide</a>.</p>'
            "<ul><li>Flour the bench</li><li>Pre-shape</li><li>Rest 20 minutes</li></ul>",
        },
        {"type": "code", "value": {"language": "text", "code": "75% hydration\n2% salt"}},
        {
            "type": "callout",
            "value": {
                "kind": "tip",
                "title": "Patience",
                "text": "<p>Cold dough shapes better.</p>",
            },
        },
    ]
)


def queue_length() -> int:
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        return int(client.llen("celery"))
    finally:
        client.close()


def show(rows: list[tuple[str, str, str]]) -> None:
    for row in rows:
        record(*row)
    print("\n" + table(rows))


def test_bench_claim_and_enqueue_from_a_million_row_outbox():
    page = course(lessons=10)
    started = time.perf_counter()
    outbox = build_outbox(
        course_page=page, learners=OUTBOX_LEARNERS, sent=4, due=1, now=CLAIM_NOW, tag="bench"
    )
    built_in = time.perf_counter() - started
    assert outbox.rows == 1_000_000 and outbox.due == 100_000

    with broker_not_eager():
        purge_queue()
        runs, claimed = 0, 0
        started = time.perf_counter()
        while ids := claim_due_deliveries(now=CLAIM_NOW):
            runs += 1
            claimed += len(ids)
        claim_seconds = time.perf_counter() - started
        queued = queue_length()
        purge_queue()

        # The publishing alone: as many tasks of 50 ids, straight to Redis.
        chunk = list(range(50))
        claim_token = str(uuid.uuid4())
        started = time.perf_counter()
        for _ in range(queued):
            tasks.send_lesson_batch.delay(chunk, claim_token)
        publish_seconds = time.perf_counter() - started
        purge_queue()

    assert claimed == outbox.due + outbox.expired_leases
    assert queued == math.ceil(claimed / 50)
    assert not LessonDelivery.objects.filter(status="pending", due_at__lte=CLAIM_NOW).exists()
    show(
        [
            (
                "(a) claim+enqueue",
                "outbox rows / due / expired leases",
                f"{outbox.rows:,} / {outbox.due:,} / {outbox.expired_leases:,}",
            ),
            ("(a) claim+enqueue", "outbox built (generate_series + ANALYZE)", f"{built_in:.1f} s"),
            ("(a) claim+enqueue", "rows claimed / dispatcher runs", f"{claimed:,} / {runs}"),
            ("(a) claim+enqueue", "send tasks in Redis", f"{queued:,}"),
            ("(a) claim+enqueue", "claim + enqueue time", f"{claim_seconds:.2f} s"),
            (
                "(a) claim+enqueue",
                "claim + enqueue throughput",
                f"{claimed / claim_seconds:,.0f} rows/s",
            ),
            ("(a) claim+enqueue", f"publishing {queued:,} tasks alone", f"{publish_seconds:.2f} s"),
        ]
    )


@dataclass(frozen=True)
class Round:
    loop_before: float  # msg/s, one connection
    pipeline: float  # msg/s
    loop_after: float  # msg/s, one connection
    two_loops: float  # msg/s, two connections at once

    @property
    def ratio(self) -> float:
        return self.pipeline / ((self.loop_before + self.loop_after) / 2)

    @property
    def ratio_to_two(self) -> float:
        return self.pipeline / self.two_loops


def test_bench_lessons_emailed_per_second_through_celery_vs_a_plain_smtplib_loop(tmp_path):
    load_before = os.getloadavg()[0]
    with smtp_server(SmtpSink()) as sink, broker_not_eager():
        purge_queue()
        with celery_worker(
            smtp_port=sink.port, log_path=tmp_path / "worker.log", concurrency=WORKER_PROCESSES
        ):
            warm_up_worker(lambda: sink.count)
            sink.received.clear()

            rounds = [one_round(number, sink, tmp_path) for number in range(1, ROUNDS + 1)]
    load_after = os.getloadavg()[0]

    message_size = (tmp_path / "lesson.eml").stat().st_size
    rows = [("(b) e-mails/s", "message size", f"{message_size:,} bytes")]
    for number, result in enumerate(rounds, start=1):
        rows.append(
            (
                "(b) e-mails/s",
                f"round {number}: smtplib before / Celery / smtplib after / 2 smtplib",
                f"{result.loop_before:,.0f} / {result.pipeline:,.0f} / "
                f"{result.loop_after:,.0f} / {result.two_loops:,.0f} msg/s = "
                f"{result.ratio:.2f} (two: {result.ratio_to_two:.2f})",
            )
        )
    rows += [
        (
            "(b) e-mails/s",
            "median ratio Celery / one-connection smtplib (target >= 0.6)",
            f"{statistics.median(result.ratio for result in rounds):.2f}",
        ),
        (
            "(b) e-mails/s",
            "median ratio Celery / two-connection smtplib",
            f"{statistics.median(result.ratio_to_two for result in rounds):.2f}",
        ),
        (
            "(b) e-mails/s",
            f"load average before / after ({os.cpu_count()} CPUs)",
            f"{load_before:.1f} / {load_after:.1f}",
        ),
    ]
    show(rows)


def warm_up_worker(arrived: Callable[[], int]) -> LessonPage:
    """Have the worker send ``WARM_UP_EMAILS`` lessons; returns their lesson.

    A worker runs for days: its processes have imported, connected and compiled their templates.
    The lessons are of a course of their own, so a later claim doesn't see them. ``arrived``
    counts the messages at the SMTP server.
    """
    warm_up = course(lessons=0, title="Warm-up")
    warming_up = lesson(warm_up, day=0, title="Warming up", body=LESSON_BODY)
    build_outbox(
        course_page=warm_up,
        learners=WARM_UP_EMAILS,
        sent=0,
        due=1,
        now=datetime.now(UTC),
        tag="warm",
    )
    tasks.dispatch_due_lessons.delay()
    wait_for(lambda: arrived() >= WARM_UP_EMAILS, timeout=SEND_TIMEOUT, what="warm-up")
    return warming_up


def one_round(number: int, sink: SmtpSink, directory: Path) -> Round:
    """``EMAILS`` lessons of a new course through the pipeline, between two smtplib loops."""
    page = course(lessons=0, title=f"Round {number}")
    shaping = lesson(page, day=0, title="Shaping the loaf", body=LESSON_BODY)
    outbox = build_outbox(
        course_page=page,
        learners=EMAILS,
        sent=0,
        due=1,
        now=datetime.now(UTC),
        tag=f"round{number}",
    )
    assert outbox.due == EMAILS
    message_file = lesson_email_file(shaping, directory)
    loop_before = smtplib_loop_seconds(sink, message_file)

    started = time.perf_counter()
    # What beat does every minute: the dispatcher runs as a task on the worker.
    tasks.dispatch_due_lessons.delay()
    wait_for(lambda: sink.count >= EMAILS, timeout=SEND_TIMEOUT, what="the e-mails", poll=0.02)
    pipeline_seconds = time.perf_counter() - started
    delivered = sink.messages()
    sink.received.clear()
    # Once more after, so that a change in the machine's load shows; then on two connections.
    loop_after = smtplib_loop_seconds(sink, message_file)
    two_loops = smtplib_loop_seconds(sink, message_file, connections=2)

    assert len(delivered) == EMAILS
    assert len({message["Message-ID"] for message in delivered}) == EMAILS
    assert set(LessonDelivery.objects.filter(lesson=shaping).values_list("status", flat=True)) == {
        "sent"
    }
    return Round(
        loop_before=EMAILS / loop_before,
        pipeline=EMAILS / pipeline_seconds,
        loop_after=EMAILS / loop_after,
        two_loops=EMAILS / two_loops,
    )


def lesson_email_file(lesson_page, directory: Path) -> Path:
    """One learner's e-mail of ``lesson_page``, as the bytes Django's SMTP backend sends."""
    sample = LessonDelivery.objects.select_related(
        "enrollment__learner", "enrollment__course", "lesson"
    ).filter(lesson=lesson_page)[0]
    path = directory / "lesson.eml"
    # Django's MIME classes take linesep; the stubs don't know.
    path.write_bytes(build_lesson_email(sample).message().as_bytes(linesep="\r\n"))  # type: ignore[call-arg]
    return path


def smtplib_loop_seconds(sink: SmtpSink, message_file: Path, *, connections: int = 1) -> float:
    """The ceiling: plain smtplib loops in their own processes (the sink is emptied)."""
    seconds = smtp_alone_seconds(
        host=sink.host,
        port=sink.port,
        count=EMAILS,
        message_file=message_file,
        connections=connections,
        timeout=SEND_TIMEOUT,
    )
    assert sink.count == EMAILS
    sink.received.clear()
    return seconds
