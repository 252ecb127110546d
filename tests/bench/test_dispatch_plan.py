"""The dispatcher's two claim queries use their partial indexes on a big outbox.

100,000 delivery rows (10,000 learners x 10 lessons, 10,000 of them due), made with
``generate_series`` and analysed; then PostgreSQL's plan for each claim query, exactly as the
dispatcher sends it (``FOR UPDATE OF ... SKIP LOCKED``, ``LIMIT``), must read
``courses_lessondelivery`` through an index, never a sequential scan.

Building 100,000 rows per test is too slow for the default run, so this check lives with the
benchmarks: ``make bench`` (or ``pytest tests/bench/test_dispatch_plan.py --bench``) runs it.
"""

from datetime import UTC, datetime

import pytest

from courses.dispatch import CLAIM_BATCH_SIZE, expired_leases, lock_for_claim, pending_due
from tests.bench.dispatch_bulk import build_outbox
from tests.courses.factories import course

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)


@pytest.fixture
def big_outbox():
    outbox = build_outbox(
        course_page=course(lessons=10), learners=10_000, sent=4, due=1, now=NOW, tag="plan"
    )
    assert (outbox.rows, outbox.due) == (100_000, 10_000)
    assert outbox.expired_leases == 50
    return outbox


def plan(queryset) -> str:
    return lock_for_claim(queryset).values_list("pk", flat=True)[:CLAIM_BATCH_SIZE].explain()


def test_due_pending_claim_query_uses_the_partial_due_index(big_outbox):
    text = plan(pending_due(now=NOW))

    assert "Seq Scan on courses_lessondelivery" not in text, text
    assert "delivery_pending_due_idx" in text, text
    assert "LockRows" in text, text  # the plan really is the FOR UPDATE one


def test_expired_lease_claim_query_uses_the_partial_lease_index(big_outbox):
    text = plan(expired_leases(now=NOW))

    assert "Seq Scan on courses_lessondelivery" not in text, text
    assert "delivery_lease_idx" in text, text
    assert "LockRows" in text, text
