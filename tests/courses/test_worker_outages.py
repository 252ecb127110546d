"""Outages with real parts: a ``celery worker`` subprocess on Redis, this test's PostgreSQL
database and a slow loopback SMTP server, each lesson batch taking a few seconds.

- The worker's Redis connections killed mid-batch (``CLIENT KILL`` of that worker's clients
  only): the broker hands the unacknowledged send tasks out again while the first copies are
  still running. Not one message may arrive twice.
- The worker SIGKILLed mid-batch and started again: every lesson arrives, duplicates stay within
  the bound in ``courses/dispatch.py`` (``SENT_MARK_GROUP`` per send task the worker was
  running), and the killed batches are claimable again within ``SEND_LEASE`` (2 minutes) of the
  kill, not the 15-minute claim lease. The dispatcher's clock is moved forward past that
  instant rather than waited for.
"""

import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from courses.dispatch import SEND_CHUNK_SIZE, SEND_LEASE, SENT_MARK_GROUP, claim_due_deliveries
from courses.models import LessonDelivery
from tests.bench.dispatch_bulk import build_outbox
from tests.courses.factories import course
from tests.support.smtp import SmtpSink, smtp_server
from tests.support.waiting import wait_for
from tests.support.worker import broker_not_eager, celery_worker, purge_queue

pytestmark = [pytest.mark.django_db(transaction=True)]

LESSONS = 150  # three send tasks of 50
WORKER_PROCESSES = 2
DATA_DELAY = 0.03  # seconds the SMTP server takes per message: a batch lasts ~1.5 s or more
TIMEOUT = 120.0

Status = LessonDelivery.Status


def due_outbox() -> list[LessonDelivery]:
    page = course(lessons=1)
    build_outbox(course_page=page, learners=LESSONS, sent=0, due=1, now=datetime.now(UTC), tag="o")
    rows = list(LessonDelivery.objects.filter(status=Status.PENDING))
    assert len(rows) == LESSONS
    return rows


def message_ids(sink: SmtpSink) -> Counter[str]:
    return Counter(message["Message-ID"] for message in sink.messages())


def claim_until_all_arrive(sink: SmtpSink, *, now=None) -> None:
    """Run the dispatcher (as beat would, but every half second) until every lesson arrived."""
    deadline = time.monotonic() + TIMEOUT
    while len(message_ids(sink)) < LESSONS:
        assert time.monotonic() < deadline, f"only {len(message_ids(sink))} of {LESSONS} arrived"
        claim_due_deliveries(now=now() if now else None)
        time.sleep(0.5)


def test_killing_the_workers_redis_connections_mid_batch_sends_nothing_twice(tmp_path):
    rows = due_outbox()
    log = tmp_path / "worker.log"

    with smtp_server(SmtpSink(data_delay=DATA_DELAY)) as sink, broker_not_eager():
        purge_queue()
        with celery_worker(
            smtp_port=sink.port, log_path=log, concurrency=WORKER_PROCESSES
        ) as worker:
            claim_due_deliveries()
            wait_for(lambda: sink.count >= 20, timeout=TIMEOUT, what="the first 20 e-mails")
            killed = worker.kill_redis_connections()
            arrived_at_kill = sink.count
            claim_until_all_arrive(sink)
            # Let redelivered copies of the tasks run out, then look again.
            time.sleep(3)
            claim_due_deliveries()
            time.sleep(2)

    ids = message_ids(sink)
    assert killed >= 1 and arrived_at_kill < LESSONS  # the blip hit mid-batch
    stuck = list(
        LessonDelivery.objects.exclude(status=Status.SENT).values_list("pk", "claim_token")
    )
    assert sink.count == LESSONS and len(ids) == LESSONS, (stuck, ids.most_common(2))
    assert set(ids) == {row.message_id for row in rows}
    assert stuck == []
    twice_claimed = list(LessonDelivery.objects.filter(attempts__gt=1).values_list("pk", flat=True))
    assert twice_claimed == [], twice_claimed
    assert set(LessonDelivery.objects.values_list("status", "attempts")) == {(Status.SENT, 1)}
    worker_log = log.read_text()
    # Celery did cancel the running copies, and they handed back what they had not tried.
    assert "cannot be acknowledged after a connection loss" in worker_log
    assert "untried lesson deliveries handed back" in worker_log


def test_a_sigkilled_worker_loses_nothing_and_its_batches_come_back_within_the_send_lease(
    tmp_path,
):
    rows = due_outbox()
    log = tmp_path / "worker.log"

    with smtp_server(SmtpSink(data_delay=DATA_DELAY)) as sink, broker_not_eager():
        purge_queue()
        with celery_worker(
            smtp_port=sink.port, log_path=log, concurrency=WORKER_PROCESSES
        ) as worker:
            claim_due_deliveries()
            wait_for(lambda: sink.count >= 20, timeout=TIMEOUT, what="the first 20 e-mails")
            worker.sigkill()
            killed_at = datetime.now(UTC)
            arrived_at_kill = sink.count

        held = LessonDelivery.objects.filter(status=Status.SENDING)
        leases = [lease for lease in held.values_list("lease_expires_at", flat=True) if lease]
        # Before the send lease runs out, nobody may take the rows of the killed batches.
        not_yet = claim_due_deliveries(now=killed_at + SEND_LEASE - timedelta(seconds=5))

        with celery_worker(smtp_port=sink.port, log_path=log, concurrency=WORKER_PROCESSES):
            # The restarted worker first runs what was still queued; then the dispatcher,
            # its clock past the killed batches' send lease, claims them again.
            claim_until_all_arrive(sink, now=lambda: killed_at + SEND_LEASE + timedelta(seconds=1))

    ids = message_ids(sink)
    duplicates = sink.count - len(ids)
    assert arrived_at_kill < LESSONS and leases  # killed mid-batch, with rows in hand
    # The rows the killed worker had taken over are back within the send lease of the kill;
    # the only others still ``sending`` belong to a send task that was still queued in Redis
    # (claim lease), which the restarted worker ran.
    checked_out = [lease for lease in leases if lease <= killed_at + SEND_LEASE]
    assert checked_out and len(leases) - len(checked_out) <= SEND_CHUNK_SIZE
    assert not set(not_yet) & set(held.values_list("pk", flat=True))
    assert set(ids) == {row.message_id for row in rows}  # every lesson arrived
    assert 0 <= duplicates <= SENT_MARK_GROUP * WORKER_PROCESSES
    assert set(LessonDelivery.objects.values_list("status", flat=True)) == {Status.SENT}
    print(
        f"\nSIGKILL mid-batch: {duplicates} duplicates (bound {SENT_MARK_GROUP * WORKER_PROCESSES})"
    )
