"""The dispatcher and the send step, in one process: what is claimed, what is sent, and what
is never sent (paused, refunded, deleted, unpublished, unverified).

Tasks run eagerly here (test settings); ``django_capture_on_commit_callbacks`` stands in for
the commit that enqueues them: ``execute=True`` runs the send tasks, without it they are only
counted, as if the worker had not picked them up yet (or had crashed).
"""

import logging
from datetime import UTC, datetime, timedelta

import pytest
from allauth.account.models import EmailAddress
from celery.exceptions import SoftTimeLimitExceeded
from celery.schedules import crontab
from django.conf import settings
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from config.celery import app as celery_app
from courses import services, tasks
from courses.dispatch import (
    LEASE,
    MAX_ATTEMPTS,
    SEND_LEASE,
    SENT_MARK_GROUP,
    claim_due_deliveries,
    send_deliveries,
)
from courses.models import Enrollment, LessonDelivery
from tests.courses.claims import claim_token_of
from tests.courses.factories import course, enroll, morning_learner
from tests.courses.time_limit import TimeLimitAfter

pytestmark = pytest.mark.django_db

Status = LessonDelivery.Status
ENROLLED = datetime(2026, 6, 1, 5, 0, tzinfo=UTC)  # 07:00 in Berlin
DAY_0 = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # 08:00 in Berlin: day 0 is due
DAY_1 = DAY_0 + timedelta(days=1)


class Boom(Exception):
    pass


@pytest.fixture
def sourdough():
    return course(lessons=3)


def statuses(enrollment: Enrollment) -> list[str]:
    return list(enrollment.deliveries.order_by("lesson__day").values_list("status", flat=True))


def test_due_lesson_is_claimed_sent_once_and_marked_sent(
    sourdough, mailoutbox, django_capture_on_commit_callbacks
):
    enrollment = enroll(morning_learner(email="ada@example.com"), sourdough, now=ENROLLED)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        claimed = claim_due_deliveries(now=DAY_0)
    with django_capture_on_commit_callbacks(execute=True):
        claimed_again = claim_due_deliveries(now=DAY_0 + timedelta(minutes=1))

    day_0 = enrollment.deliveries.get(lesson__day=0)
    assert claimed == [day_0.pk] and claimed_again == []
    assert len(callbacks) == 1
    assert [message.to for message in mailoutbox] == [["ada@example.com"]]
    assert mailoutbox[0].extra_headers["Message-ID"] == day_0.message_id
    assert (day_0.status, day_0.attempts, day_0.lease_expires_at) == (Status.SENT, 1, None)
    assert day_0.sent_at is not None
    assert statuses(enrollment) == [Status.SENT, Status.PENDING, Status.PENDING]


def test_claim_marks_rows_sending_with_a_lease_and_enqueues_chunks_of_50_after_commit(
    sourdough, django_capture_on_commit_callbacks
):
    for _ in range(40):
        enroll(morning_learner(), sourdough, now=ENROLLED)
    everything_due = DAY_0 + timedelta(days=2)  # all 3 lessons of 40 learners: 120 rows

    with django_capture_on_commit_callbacks() as callbacks:
        claimed = claim_due_deliveries(now=everything_due)

    assert len(claimed) == 120
    assert len(callbacks) == 3  # 50 + 50 + 20 ids, one send task each
    rows = LessonDelivery.objects.filter(pk__in=claimed)
    assert set(rows.values_list("status", "attempts", "lease_expires_at")) == {
        (Status.SENDING, 1, everything_due + LEASE)
    }


def test_dispatcher_claims_batch_after_batch_while_rows_are_due(
    sourdough, django_capture_on_commit_callbacks
):
    for _ in range(3):
        enroll(morning_learner(), sourdough, now=ENROLLED)  # 9 rows, all due on day 2
    everything_due = DAY_0 + timedelta(days=2)

    with django_capture_on_commit_callbacks() as callbacks:
        claimed = claim_due_deliveries(now=everything_due, batch_size=1)

    # One run, nine batches of one: no cap on batches leaves a spike for the next minute.
    assert len(claimed) == 9
    assert len(callbacks) == 9


def test_dispatcher_starts_no_new_batch_once_its_run_time_is_spent(
    sourdough, django_capture_on_commit_callbacks
):
    for _ in range(3):
        enroll(morning_learner(), sourdough, now=ENROLLED)
    everything_due = DAY_0 + timedelta(days=2)

    with django_capture_on_commit_callbacks():
        spent = claim_due_deliveries(now=everything_due, batch_size=2, run_seconds=0)
        rest = claim_due_deliveries(now=everything_due, batch_size=2)

    assert (len(spent), len(rest)) == (2, 7)


def test_rolled_back_claim_enqueues_nothing_and_leaves_rows_pending(
    sourdough, mailoutbox, django_capture_on_commit_callbacks
):
    enrollment = enroll(morning_learner(), sourdough, now=ENROLLED)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Boom),
        transaction.atomic(),
    ):
        assert claim_due_deliveries(now=DAY_0)
        raise Boom

    assert callbacks == []
    assert mailoutbox == []
    assert statuses(enrollment) == [Status.PENDING] * 3


def test_rolled_back_enrollment_leaves_nothing_to_send(
    sourdough, mailoutbox, django_capture_on_commit_callbacks
):
    ada = morning_learner()

    with pytest.raises(Boom), transaction.atomic():
        enroll(ada, sourdough, now=ENROLLED)
        raise Boom
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        claimed = claim_due_deliveries(now=DAY_0 + timedelta(days=5))

    assert not Enrollment.objects.exists() and not LessonDelivery.objects.exists()
    assert claimed == [] and callbacks == [] and mailoutbox == []


def test_paused_enrollment_is_never_claimed_until_resumed(
    sourdough, mailoutbox, django_capture_on_commit_callbacks
):
    enrollment = enroll(morning_learner(), sourdough, now=ENROLLED)
    services.pause(enrollment=enrollment, now=ENROLLED + timedelta(minutes=10))

    with django_capture_on_commit_callbacks(execute=True):
        while_paused = claim_due_deliveries(now=DAY_0 + timedelta(hours=1))
    assert while_paused == [] and mailoutbox == []
    assert statuses(enrollment) == [Status.PAUSED] * 3

    # Resumed after day 0's send moment: every lesson moves a day, day 0 to tomorrow 08:00.
    services.resume(enrollment=enrollment, now=DAY_0 + timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert claim_due_deliveries(now=DAY_0 + timedelta(hours=2)) == []
        assert len(claim_due_deliveries(now=DAY_1)) == 1
    assert len(mailoutbox) == 1


def test_refunded_enrollment_is_never_claimed(
    sourdough, mailoutbox, django_capture_on_commit_callbacks
):
    enrollment = enroll(morning_learner(), sourdough, now=ENROLLED)
    services.revoke(enrollment=enrollment, now=ENROLLED + timedelta(minutes=10))

    with django_capture_on_commit_callbacks(execute=True):
        claimed = claim_due_deliveries(now=DAY_0 + timedelta(days=5))

    assert claimed == [] and mailoutbox == []
    assert statuses(enrollment) == [Status.CANCELLED] * 3


def test_deleted_enrollment_sends_nothing_even_when_already_claimed(
    sourdough, mailoutbox, django_capture_on_commit_callbacks
):
    deleted_before = enroll(morning_learner(), sourdough, now=ENROLLED)
    deleted_after_claim = enroll(morning_learner(), sourdough, now=ENROLLED)
    deleted_before.delete()

    with django_capture_on_commit_callbacks() as callbacks:
        claimed = claim_due_deliveries(now=DAY_0)
    claim_token = claim_token_of(claimed)
    deleted_after_claim.delete()
    report = send_deliveries(delivery_ids=claimed, claim_token=claim_token)

    assert len(claimed) == 1 and len(callbacks) == 1
    assert report.not_sent == claimed and report.sent == []
    assert mailoutbox == []


def test_pause_after_the_claim_puts_the_row_back_to_paused_and_resume_sends_it(
    sourdough, mailoutbox, django_capture_on_commit_callbacks
):
    enrollment = enroll(morning_learner(), sourdough, now=ENROLLED)
    with django_capture_on_commit_callbacks():
        claimed = claim_due_deliveries(now=DAY_0)
    services.pause(enrollment=enrollment, now=DAY_0 + timedelta(seconds=5))

    report = send_deliveries(
        delivery_ids=claimed, claim_token=claim_token_of(claimed), now=DAY_0 + timedelta(seconds=10)
    )

    assert report.not_sent == claimed and mailoutbox == []
    assert statuses(enrollment) == [Status.PAUSED] * 3
    resumed_at = DAY_0 + timedelta(hours=2)
    services.resume(enrollment=enrollment, now=resumed_at)
    with django_capture_on_commit_callbacks(execute=True):
        assert claim_due_deliveries(now=resumed_at) == claimed
    assert len(mailoutbox) == 1


def test_refund_after_the_claim_sends_nothing(
    sourdough, mailoutbox, django_capture_on_commit_callbacks
):
    enrollment = enroll(morning_learner(), sourdough, now=ENROLLED)
    with django_capture_on_commit_callbacks():
        claimed = claim_due_deliveries(now=DAY_0)
    services.revoke(enrollment=enrollment, now=DAY_0 + timedelta(seconds=5))

    report = send_deliveries(
        delivery_ids=claimed, claim_token=claim_token_of(claimed), now=DAY_0 + timedelta(seconds=10)
    )

    assert report.not_sent == claimed and mailoutbox == []
    assert statuses(enrollment) == [Status.CANCELLED] * 3


def test_unpublished_lesson_is_skipped_not_sent(
    sourdough, mailoutbox, django_capture_on_commit_callbacks
):
    enrollment = enroll(morning_learner(), sourdough, now=ENROLLED)
    sourdough.lessons().get(day=0).unpublish()

    with django_capture_on_commit_callbacks(execute=True):
        claim_due_deliveries(now=DAY_0)

    assert mailoutbox == []
    assert statuses(enrollment) == [Status.SKIPPED, Status.PENDING, Status.PENDING]


def test_unverified_address_waits_until_it_is_verified(
    sourdough, mailoutbox, django_capture_on_commit_callbacks
):
    ada = morning_learner(email="ada@example.com", verified_email=False)
    address = EmailAddress.objects.create(
        user=ada, email="ada@example.com", verified=False, primary=True
    )
    # A verified second address is not the one lessons go to: it doesn't count.
    EmailAddress.objects.create(user=ada, email="ada@work.example", verified=True, primary=False)
    enrollment = enroll(ada, sourdough, now=ENROLLED)

    with django_capture_on_commit_callbacks(execute=True):
        while_unverified = claim_due_deliveries(now=DAY_0 + timedelta(hours=3))
    assert while_unverified == [] and mailoutbox == []
    assert statuses(enrollment) == [Status.PENDING] * 3

    address.verified = True
    address.save()
    with django_capture_on_commit_callbacks(execute=True):
        claim_due_deliveries(now=DAY_0 + timedelta(hours=4))
    assert [message.to for message in mailoutbox] == [["ada@example.com"]]


def test_expired_lease_is_claimed_again_and_sent_once(
    sourdough, mailoutbox, django_capture_on_commit_callbacks
):
    enrollment = enroll(morning_learner(), sourdough, now=ENROLLED)
    # The first claim's send task is lost (its worker died before running it).
    with django_capture_on_commit_callbacks():
        lost = claim_due_deliveries(now=DAY_0)
    lost_token = claim_token_of(lost)

    with django_capture_on_commit_callbacks(execute=True):
        before_expiry = claim_due_deliveries(now=DAY_0 + LEASE - timedelta(seconds=1))
        after_expiry = claim_due_deliveries(now=DAY_0 + LEASE)
    # The lost task turns up after all (redelivered by the broker): it sends nothing.
    late = send_deliveries(delivery_ids=lost, claim_token=lost_token)

    assert before_expiry == [] and after_expiry == lost
    assert late.not_sent == lost
    assert len(mailoutbox) == 1
    day_0 = enrollment.deliveries.get(lesson__day=0)
    assert (day_0.status, day_0.attempts) == (Status.SENT, 2)


def test_running_the_same_send_task_twice_sends_once(
    sourdough, mailoutbox, django_capture_on_commit_callbacks
):
    enroll(morning_learner(), sourdough, now=ENROLLED)
    with django_capture_on_commit_callbacks():
        claimed = claim_due_deliveries(now=DAY_0)
    claim_token = claim_token_of(claimed)

    # The task as the claim queued it, then a copy of it (a broker redelivery), twice over.
    tasks.send_lesson_batch.delay(claimed, claim_token)
    tasks.send_lesson_batch.delay(claimed, claim_token)
    tasks.send_lesson_batch(claimed, claim_token)

    assert len(mailoutbox) == 1


def test_sent_rows_are_marked_in_groups_of_ten(
    sourdough, mailoutbox, django_capture_on_commit_callbacks
):
    for n in range(SENT_MARK_GROUP + 2):
        enroll(morning_learner(email=f"learner{n}@example.com"), sourdough, now=ENROLLED)
    with django_capture_on_commit_callbacks():
        claimed = claim_due_deliveries(now=DAY_0)

    with CaptureQueriesContext(connection) as queries:
        report = send_deliveries(
            delivery_ids=claimed, claim_token=claim_token_of(claimed), now=DAY_0
        )

    marks = [
        query["sql"]
        for query in queries
        if query["sql"].startswith('UPDATE "courses_lessondelivery" SET "status" = \'sent\'')
    ]
    assert len(marks) == 2  # 10 rows, then the last 2
    assert sorted(report.sent) == sorted(claimed) and len(mailoutbox) == len(claimed)
    assert set(LessonDelivery.objects.values_list("status", flat=True)) == {
        Status.SENT,
        Status.PENDING,  # days 1 and 2
    }


def test_a_time_limit_mid_batch_still_marks_what_went_out(
    settings, monkeypatch, sourdough, mailoutbox, django_capture_on_commit_callbacks
):
    for n in range(SENT_MARK_GROUP + 3):
        enroll(morning_learner(email=f"learner{n}@example.com"), sourdough, now=ENROLLED)
    with django_capture_on_commit_callbacks():
        claimed = claim_due_deliveries(now=DAY_0)
    # The limit strikes while the 13th message is being sent: 12 went out, 2 of them in a
    # group that was not written yet.
    settings.EMAIL_BACKEND = f"{TimeLimitAfter.__module__}.{TimeLimitAfter.__qualname__}"
    monkeypatch.setattr(TimeLimitAfter, "accept", SENT_MARK_GROUP + 2)

    with pytest.raises(SoftTimeLimitExceeded):
        send_deliveries(delivery_ids=claimed, claim_token=claim_token_of(claimed), now=DAY_0)

    day_0 = LessonDelivery.objects.filter(pk__in=claimed)
    assert day_0.filter(status=Status.SENT).count() == len(mailoutbox) == SENT_MARK_GROUP + 2
    # The one that did not go out keeps its (send) lease: a later dispatcher run claims it
    # again.
    unsent = day_0.get(status=Status.SENDING)
    assert unsent.lease_expires_at == DAY_0 + SEND_LEASE


def test_a_lease_that_keeps_expiring_fails_the_row_after_the_last_attempt(
    mailoutbox, django_capture_on_commit_callbacks, caplog
):
    # One lesson: the retry budget spans three days, and later lessons would fall due.
    enrollment = enroll(morning_learner(), course(lessons=1), now=ENROLLED)
    moment = DAY_0
    with django_capture_on_commit_callbacks():  # every send task is lost
        for _ in range(MAX_ATTEMPTS):
            assert len(claim_due_deliveries(now=moment)) == 1
            moment += LEASE
        with caplog.at_level(logging.ERROR, logger="courses.dispatch"):
            assert claim_due_deliveries(now=moment) == []

    day_0 = enrollment.deliveries.get(lesson__day=0)
    assert (day_0.status, day_0.attempts, day_0.lease_expires_at) == (
        Status.FAILED,
        MAX_ATTEMPTS,
        None,
    )
    assert f"Gave up after {MAX_ATTEMPTS} attempts" in day_0.last_error
    assert any(record.levelno == logging.ERROR for record in caplog.records)
    assert mailoutbox == []


def test_beat_runs_the_dispatch_task_at_second_0_of_every_minute_and_the_task_sends(
    sourdough, mailoutbox, django_capture_on_commit_callbacks
):
    entry = settings.CELERY_BEAT_SCHEDULE["dispatch-due-lessons"]
    assert (entry["task"], entry["schedule"]) == (
        "courses.tasks.dispatch_due_lessons",
        crontab(minute="*"),
    )
    assert entry["task"] in celery_app.tasks
    # Whenever beat started (here 07:59:37), the next run is at 08:00:00, when lessons are due.
    started = datetime(2026, 6, 1, 7, 59, 37, tzinfo=UTC)
    last_run, to_next_run, _now = entry["schedule"].remaining_delta(started)
    assert last_run + to_next_run == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    # The task reads the clock: enrolled three days ago, all three lessons are due.
    enroll(morning_learner(), sourdough, now=datetime.now(UTC) - timedelta(days=3))

    with django_capture_on_commit_callbacks(execute=True):
        tasks.dispatch_due_lessons.delay()

    assert len(mailoutbox) == 3
