"""Exactly once under real concurrency: dispatchers in threads, each with its own PostgreSQL
connection and real commits (``transaction=True``).

The first test shows the race the lock prevents: two dispatchers reading the due rows at the same
time without ``FOR UPDATE SKIP LOCKED`` both see every row, so both would send every lesson.
"""

import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from courses.dispatch import LEASE, claim_batch, claim_due_deliveries, pending_due
from courses.models import LessonDelivery
from tests.courses.factories import course, enroll, morning_learner

pytestmark = [
    # Real commits: other threads and processes must see the rows.
    pytest.mark.django_db(transaction=True),
]

ENROLLED = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)
ALL_DUE = datetime(2026, 6, 10, 6, 0, tzinfo=UTC)  # every lesson of those enrolments is due
THREAD_TIMEOUT = 60


class Boom(Exception):
    pass


def due_rows(learners: int, lessons: int = 2) -> list[int]:
    page = course(lessons=lessons)
    for _ in range(learners):
        enroll(morning_learner(), page, now=ENROLLED)
    return sorted(LessonDelivery.objects.values_list("pk", flat=True))


def run_in_threads(*jobs: Callable[[], list[int]]) -> list[list[int]]:
    """Run each job in its own thread (own DB connection, closed at the end); their results."""
    results: list[list[int] | None] = [None] * len(jobs)
    errors: list[BaseException] = []

    def run(index: int, job: Callable[[], list[int]]) -> None:
        try:
            results[index] = job()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(THREAD_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a dispatcher thread hung"
    if errors:
        raise errors[0]
    return [result or [] for result in results]


def test_without_the_lock_two_dispatchers_at_once_would_both_take_every_row():
    rows = due_rows(learners=5)
    both_reading = threading.Barrier(2, timeout=THREAD_TIMEOUT)

    def read_due_rows_without_locking() -> list[int]:
        with transaction.atomic():
            ids = list(pending_due(now=ALL_DUE).values_list("pk", flat=True))
            both_reading.wait()  # both transactions are open at the same moment
        return sorted(ids)

    first, second = run_in_threads(read_due_rows_without_locking, read_due_rows_without_locking)

    assert first == second == rows  # every lesson would go out twice


def test_two_dispatchers_holding_their_claims_at_once_take_disjoint_rows_and_send_each_once(
    mailoutbox,
):
    rows = due_rows(learners=10)  # 20 rows
    both_claimed = threading.Barrier(2, timeout=THREAD_TIMEOUT)

    def claim_and_hold() -> list[int]:
        with transaction.atomic():
            ids, _ = claim_batch(now=ALL_DUE, batch_size=10, lease=LEASE)
            # Neither commits before both have claimed: each claim ran while the other's
            # locks were held. The commit then enqueues (here: runs) the send tasks.
            both_claimed.wait()
        return ids

    first, second = run_in_threads(claim_and_hold, claim_and_hold)

    assert len(first) == len(second) == 10
    assert not set(first) & set(second)
    assert sorted(first + second) == rows
    assert_each_sent_once(rows, mailoutbox)


def test_two_full_dispatcher_runs_at_once_send_each_lesson_once(mailoutbox):
    rows = due_rows(learners=30)  # 60 rows, claimed 7 at a time by each
    start = threading.Barrier(2, timeout=THREAD_TIMEOUT)

    def dispatcher() -> list[int]:
        start.wait()
        return claim_due_deliveries(now=ALL_DUE, batch_size=7)

    first, second = run_in_threads(dispatcher, dispatcher)

    assert not set(first) & set(second)
    assert sorted(first + second) == rows
    assert_each_sent_once(rows, mailoutbox)


def test_a_rolled_back_enrollment_and_a_rolled_back_claim_enqueue_nothing(mailoutbox):
    page = course(lessons=2)
    ada, bo = morning_learner(), morning_learner()
    enroll(bo, page, now=ENROLLED)

    with pytest.raises(Boom), transaction.atomic():
        enroll(ada, page, now=ENROLLED)
        raise Boom
    with pytest.raises(Boom), transaction.atomic():
        assert len(claim_due_deliveries(now=ALL_DUE)) == 2  # bo's two lessons
        raise Boom

    assert not LessonDelivery.objects.filter(enrollment__learner=ada).exists()
    assert set(LessonDelivery.objects.values_list("status", "attempts")) == {
        (LessonDelivery.Status.PENDING, 0)
    }
    assert mailoutbox == []


def assert_each_sent_once(rows: list[int], outbox) -> None:
    deliveries = LessonDelivery.objects.filter(pk__in=rows)
    assert set(deliveries.values_list("status", "attempts")) == {(LessonDelivery.Status.SENT, 1)}
    sent_ids = Counter(message.extra_headers["Message-ID"] for message in outbox)
    assert sent_ids == Counter({delivery.message_id: 1 for delivery in deliveries})
