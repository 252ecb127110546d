"""Business rules of courses: enrol, pause, resume, reschedule, move a cohort, revoke, complete.

Each function is keyword-only, takes ``now`` so tests are exact, locks the enrolment row before
it changes state, and returns quietly when the change already happened (so a retried task or a
repeated webhook changes nothing twice).
"""

from datetime import date, datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from . import emails
from .models import CoursePage, Enrollment, LessonDelivery, LessonPage, LessonProgress, ScheduleMode
from .schedule import lesson_due_at, sending_days_between


class EnrollmentError(Exception):
    """A rule forbids this enrollment; the message is fit to show the learner."""


def ensure_may_enroll(*, learner: User, course: CoursePage) -> None:
    """Raise ``EnrollmentError`` if ``learner`` may not (re)enroll in ``course``.

    The one place of the rule "a refunded enrollment is never reopened": its lessons were
    cancelled and its money given back, so neither a free enrollment nor a new payment brings it
    back by itself (staff can). ``enroll`` applies it; payments asks before taking money.
    """
    refunded = Enrollment.objects.filter(
        learner=learner, course=course, status=Enrollment.Status.REFUNDED
    ).exists()
    if refunded:
        raise EnrollmentError(
            _(
                "This enrolment was refunded, so it can’t be reopened here. "
                "Please contact us to take the course again."
            )
        )


def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def due_at_for(*, enrollment: Enrollment, lesson: LessonPage, now: datetime) -> datetime:
    learner = enrollment.learner
    return lesson_due_at(
        start_date=enrollment.start_date,
        day=lesson.day,
        days_shifted=enrollment.days_shifted,
        send_hour=learner.lesson_send_hour,
        zone=learner.zone,
        now=now,
    )


def _write_deliveries(
    *, enrollment: Enrollment, lessons: QuerySet[LessonPage] | list[LessonPage], now: datetime
) -> None:
    """The outbox rows for ``lessons``; rows that already exist are left as they are."""
    status = (
        LessonDelivery.Status.PAUSED
        if enrollment.status == Enrollment.Status.PAUSED
        else LessonDelivery.Status.PENDING
    )
    LessonDelivery.objects.bulk_create(
        [
            LessonDelivery(
                enrollment=enrollment,
                lesson=lesson,
                status=status,
                due_at=due_at_for(enrollment=enrollment, lesson=lesson, now=now),
            )
            for lesson in lessons
        ],
        ignore_conflicts=True,
    )


def _locked(enrollment: Enrollment) -> Enrollment:
    return Enrollment.objects.select_for_update().select_related("learner").get(pk=enrollment.pk)


@transaction.atomic
def enroll(
    *, learner: User, course: CoursePage, order=None, now: datetime | None = None
) -> Enrollment:
    """Enrol ``learner`` in ``course`` and write every lesson's delivery row, atomically.

    Idempotent: a second call returns the existing enrolment and writes nothing. ``order`` is
    the payments app's Order for a paid course (only its id is kept). Raises
    ``EnrollmentError`` for a refunded enrollment (``ensure_may_enroll``).
    """
    now = _now(now)
    ensure_may_enroll(learner=learner, course=course)
    if course.schedule_mode == ScheduleMode.COHORT and course.cohort_start_date:
        start_date = course.cohort_start_date
    else:
        start_date = timezone.localtime(now, learner.zone).date()
    enrollment, created = Enrollment.objects.get_or_create(
        learner=learner,
        course=course,
        defaults={
            "order_id": getattr(order, "pk", None),
            "enrolled_at": now,
            "start_date": start_date,
        },
    )
    if created:
        _write_deliveries(enrollment=enrollment, lessons=course.lessons(), now=now)
        caught_up = _gather_overdue_lessons(enrollment=enrollment, now=now)
        if caught_up:
            emails.queue_catch_up_email(enrollment_id=enrollment.pk, lesson_ids=caught_up)
    return enrollment


# A learner who joins a cohort after some of its lessons' dates would otherwise get all of them
# at the same instant. Two or more already due: they go in one catch-up e-mail instead.
CATCH_UP_FROM = 2


def _gather_overdue_lessons(*, enrollment: Enrollment, now: datetime) -> list[int]:
    """Mark the enrolment's lessons already due ``caught_up`` when there are several.

    One lesson due at once (the usual "day 1 arrives right after enrolling") is left to its
    own e-mail. The rows keep ``due_at`` (now), so the lessons are readable on the site at
    once. Returns the lesson ids marked, in day order: the caller says how they are announced.
    """
    overdue = list(
        enrollment.deliveries.filter(status=LessonDelivery.Status.PENDING, due_at__lte=now)
        .order_by("lesson__day", "lesson__path")
        .values_list("pk", "lesson_id")
    )
    if len(overdue) < CATCH_UP_FROM:
        return []
    LessonDelivery.objects.filter(pk__in=[pk for pk, _lesson in overdue]).update(
        status=LessonDelivery.Status.CAUGHT_UP
    )
    return [lesson_id for _pk, lesson_id in overdue]


@transaction.atomic
def schedule_new_lesson(*, lesson: LessonPage, now: datetime | None = None) -> int:
    """Give a lesson published after learners enrolled a delivery row for each of them.

    Returns how many enrolments it looked at; existing rows are left alone.
    """
    now = _now(now)
    enrollments = (
        Enrollment.objects.filter(course_id=lesson.get_parent().pk)
        .exclude(status=Enrollment.Status.REFUNDED)
        .select_related("learner")
    )
    for enrollment in enrollments:
        _write_deliveries(enrollment=enrollment, lessons=[lesson], now=now)
    return len(enrollments)


@transaction.atomic
def pause(*, enrollment: Enrollment, now: datetime | None = None) -> Enrollment:
    """Stop the learner's pending lessons until they resume."""
    enrollment = _locked(enrollment)
    if enrollment.status != Enrollment.Status.ACTIVE:
        return enrollment
    enrollment.status = Enrollment.Status.PAUSED
    enrollment.paused_at = _now(now)
    enrollment.save(update_fields=["status", "paused_at"])
    enrollment.deliveries.filter(status=LessonDelivery.Status.PENDING).update(
        status=LessonDelivery.Status.PAUSED
    )
    return enrollment


@transaction.atomic
def resume(*, enrollment: Enrollment, now: datetime | None = None) -> Enrollment:
    """Restart a paused course; each remaining lesson moves by the sending days missed."""
    now = _now(now)
    enrollment = _locked(enrollment)
    if enrollment.status != Enrollment.Status.PAUSED:
        return enrollment
    learner = enrollment.learner
    enrollment.days_shifted += sending_days_between(
        start=enrollment.paused_at or now,
        end=now,
        send_hour=learner.lesson_send_hour,
        zone=learner.zone,
    )
    enrollment.status = Enrollment.Status.ACTIVE
    enrollment.paused_at = None
    enrollment.save(update_fields=["status", "paused_at", "days_shifted"])
    _recompute_due_times(enrollment=enrollment, now=now, new_status=LessonDelivery.Status.PENDING)
    return enrollment


def _recompute_due_times(
    *, enrollment: Enrollment, now: datetime, new_status: LessonDelivery.Status | None = None
) -> None:
    rows = enrollment.deliveries.filter(status__in=LessonDelivery.RESCHEDULABLE).select_related(
        "lesson"
    )
    for row in rows:
        row.due_at = due_at_for(enrollment=enrollment, lesson=row.lesson, now=now)
        if new_status is not None:
            row.status = new_status
    LessonDelivery.objects.bulk_update(rows, ["due_at", "status"])


@transaction.atomic
def reschedule_for_learner(*, learner: User, now: datetime | None = None) -> None:
    """Move the learner's unsent lessons after they changed their time zone or send hour."""
    now = _now(now)
    enrollments = (
        Enrollment.objects.select_for_update()
        .filter(learner=learner)
        .exclude(status=Enrollment.Status.REFUNDED)
    )
    for enrollment in enrollments:
        enrollment.learner = learner  # the caller's copy holds the new zone and hour
        _recompute_due_times(enrollment=enrollment, now=now)


@transaction.atomic
def move_cohort_start(
    *, course: CoursePage, previous_start_date: date, now: datetime | None = None
) -> int:
    """A published cohort course got a new start date: move the cohort's learners with it.

    The learners who joined on ``previous_start_date`` (the date the course had when they
    enrolled, kept as their ``start_date``) get the new start date; their lessons not yet sent
    move to the new days, and each learner is e-mailed the new dates in their own zone. Lessons
    the move puts in the past are gathered like a late joiner's (``caught_up``, readable at once,
    and listed as such in that e-mail). Learners on another start date (who enrolled while the
    course ran on each learner's own schedule) are left alone. Publishing the same date again
    moves nothing. Returns how many enrolments moved.
    """
    new_start_date = course.cohort_start_date
    if (
        course.schedule_mode != ScheduleMode.COHORT
        or new_start_date is None
        or new_start_date == previous_start_date
    ):
        return 0
    now = _now(now)
    enrollments = list(
        Enrollment.objects.select_for_update(of=("self",))
        .select_related("learner")
        .filter(course=course, start_date=previous_start_date)
        .exclude(status=Enrollment.Status.REFUNDED)
        .order_by("pk")
    )
    for enrollment in enrollments:
        enrollment.start_date = new_start_date
        enrollment.save(update_fields=["start_date"])
        _recompute_due_times(enrollment=enrollment, now=now)
        _gather_overdue_lessons(enrollment=enrollment, now=now)
        emails.queue_new_cohort_dates_email(enrollment_id=enrollment.pk)
    return len(enrollments)


@transaction.atomic
def revoke(*, enrollment: Enrollment, now: datetime | None = None) -> Enrollment:
    """End access after a refund: no more lessons, no more reading on the site."""
    enrollment = _locked(enrollment)
    if enrollment.status == Enrollment.Status.REFUNDED:
        return enrollment
    enrollment.status = Enrollment.Status.REFUNDED
    enrollment.refunded_at = _now(now)
    enrollment.paused_at = None
    enrollment.save(update_fields=["status", "refunded_at", "paused_at"])
    enrollment.deliveries.filter(
        status__in=[*LessonDelivery.RESCHEDULABLE, LessonDelivery.Status.SENDING]
    ).update(status=LessonDelivery.Status.CANCELLED, lease_expires_at=None)
    return enrollment


@transaction.atomic
def complete_lesson(
    *, enrollment: Enrollment, lesson: LessonPage, now: datetime | None = None
) -> LessonProgress:
    """Mark ``lesson`` done; finishing the last lesson completes the course, once.

    The caller has checked that the learner may read the lesson (``selectors.lesson_access``).
    """
    now = _now(now)
    enrollment = _locked(enrollment)
    progress, _ = LessonProgress.objects.get_or_create(
        enrollment=enrollment, lesson=lesson, defaults={"first_opened_at": now}
    )
    if progress.completed_at is None:
        progress.completed_at = now
        progress.save(update_fields=["completed_at"])
    if enrollment.completed_at is None:
        live_lessons = enrollment.course.lessons().values("pk")
        remaining = live_lessons.exclude(
            pk__in=enrollment.progress.filter(completed_at__isnull=False).values("lesson_id")
        )
        if not remaining.exists():
            enrollment.completed_at = now
            enrollment.save(update_fields=["completed_at"])
            # Written to the outbox with the completion; a worker sends it after commit.
            emails.queue_course_completed(enrollment_id=enrollment.pk)
    return progress


def record_lesson_opened(
    *, enrollment: Enrollment, lesson: LessonPage, now: datetime | None = None
) -> None:
    """Note the first time a learner opened a lesson on the site (for the creator's funnel)."""
    LessonProgress.objects.get_or_create(
        enrollment=enrollment, lesson=lesson, defaults={"first_opened_at": _now(now)}
    )


@transaction.atomic
def retry_delivery(*, delivery: LessonDelivery, now: datetime | None = None) -> LessonDelivery:
    """Give a failed lesson e-mail another go: due now, error cleared (staff's "retry").

    A no-op for any other state, and for a refunded enrolment (its lessons stay cancelled).
    A paused learner's row goes back to ``paused`` so that resuming sends it. ``attempts`` is
    kept as the row's history; the automatic retry budget starts again from here.
    """
    delivery = (
        LessonDelivery.objects.select_for_update().select_related("enrollment").get(pk=delivery.pk)
    )
    enrollment = delivery.enrollment
    if (
        delivery.status != LessonDelivery.Status.FAILED
        or enrollment.status == Enrollment.Status.REFUNDED
    ):
        return delivery
    delivery.status = (
        LessonDelivery.Status.PAUSED
        if enrollment.status == Enrollment.Status.PAUSED
        else LessonDelivery.Status.PENDING
    )
    delivery.due_at = _now(now)
    delivery.retry_at = None
    delivery.last_error = ""
    delivery.lease_expires_at = None
    delivery.claim_token = None
    delivery.attempts_before_staff_retry = delivery.attempts
    delivery.save(
        update_fields=[
            "status",
            "due_at",
            "retry_at",
            "last_error",
            "lease_expires_at",
            "claim_token",
            "attempts_before_staff_retry",
        ]
    )
    return delivery
