"""The send step leaves no setting on its database connection (PgBouncer transaction pooling).

Under transaction pooling a server connection passes to another client between transactions,
so a session-level ``SET`` made by the send step would apply to that client's commits. Only the
transactions that write sent marks skip the WAL flush wait (``SET LOCAL``); every other
statement, and the connection afterwards, keep the server's default.
"""

from datetime import UTC, datetime

import pytest
from django.db import connection, transaction

from courses.dispatch import (
    SENT_MARK_GROUP,
    _commit_without_flush_wait,
    claim_due_deliveries,
)
from courses.models import LessonDelivery
from tests.courses.factories import course, enroll, morning_learner
from tests.support.smtp import smtp_server, smtp_settings

pytestmark = pytest.mark.django_db(transaction=True)

ENROLLED = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)
DAY_0 = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # the learners' send hour, day 0


def synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def test_the_setting_ends_with_its_transaction():
    assert synchronous_commit() == "on"
    with _commit_without_flush_wait():
        assert synchronous_commit() == "off"
    assert synchronous_commit() == "on"


def test_inside_a_callers_transaction_it_is_left_alone():
    # Our writes don't commit there: the caller's commit is not ours to make asynchronous.
    with transaction.atomic():
        with _commit_without_flush_wait():
            assert synchronous_commit() == "on"
        assert synchronous_commit() == "on"


def test_only_the_sent_marks_skip_the_flush_wait_and_nothing_outlives_the_run(settings):
    lesson_course = course(lessons=1)
    for n in range(SENT_MARK_GROUP + 2):  # a full group of marks, then the rest at the end
        enroll(morning_learner(email=f"learner{n}@example.com"), lesson_course, now=ENROLLED)
    # Each statement, beside the setting it ran under: asked on the same connection just
    # before it, through the driver (below Django, so the question itself isn't recorded).
    statements: list[tuple[str, str]] = []

    def record_setting(execute, sql, params, many, context):
        setting = context["connection"].connection.execute("SHOW synchronous_commit").fetchone()
        statements.append((sql, setting[0]))
        return execute(sql, params, many, context)

    with smtp_server() as sink:
        smtp_settings(settings, sink)
        with connection.execute_wrapper(record_setting):
            # The claim commits, then its send task runs (eagerly, in this process and on this
            # connection, as the test settings run tasks).
            ids = claim_due_deliveries(now=DAY_0)

    assert len(ids) == SENT_MARK_GROUP + 2 and sink.count == len(ids)
    assert set(LessonDelivery.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        LessonDelivery.Status.SENT
    }

    def is_a_sent_mark(sql: str) -> bool:
        return sql.startswith('UPDATE "courses_lessondelivery"') and '"sent_at"' in sql

    marks = [setting for sql, setting in statements if is_a_sent_mark(sql)]
    others = [setting for sql, setting in statements if not is_a_sent_mark(sql)]
    assert marks == ["off", "off"]  # the full group, then the rest
    assert len(others) > 5 and set(others) == {"on"}
    assert synchronous_commit() == "on"
